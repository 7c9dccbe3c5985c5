import { describe, expect, it } from 'vitest'
import { OpHistory } from '../dist/document/op-history.js'
import type { EndpointId } from '../dist/ids.js'

const A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa' as EndpointId

describe('OpHistory bounded by bytes', () => {
  it('holds about bytesLimit of operations however many arrive; a base behind it is refused as stale', () => {
    const history = new OpHistory(10_000, 100_000)
    const big = 'x'.repeat(10_000)
    for (let seq = 1; seq <= 400; seq++) history.append({ seq, origin: A, clientSeq: seq, base: seq - 1, op: ['blob', { r: true, i: big }] })
    expect(history.bytes).toBeLessThanOrEqual(100_000)
    expect(history.lastSeq).toBe(400)
    expect(history.since(399)!.map((e) => e.seq)).toEqual([400])
    expect(history.since(10)).toBeUndefined()
  })

  it('without a byte limit keeps the count limit only', () => {
    const history = new OpHistory(5)
    for (let seq = 1; seq <= 20; seq++) history.append({ seq, origin: A, clientSeq: seq, base: seq - 1, op: ['k', { i: seq }] })
    expect(history.since(15)!.length).toBe(5)
    expect(history.since(14)).toBeUndefined()
  })
})
