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

describe('OpHistory with limit 0 (a leaf: follows the seq, holds nothing)', () => {
  it('answers every query as the general path does on random runs of seqs, gaps included', () => {
    for (let trial = 0; trial < 50; trial++) {
      const history = new OpHistory(0)
      let seq = Math.floor(Math.random() * 5)
      history.reset(seq)
      for (let i = 0; i < 40; i++) {
        // mostly contiguous, sometimes a jump (a snapshot, a resync)
        seq += Math.random() < 0.1 ? 2 + Math.floor(Math.random() * 10) : 1
        history.append({ seq, origin: A, clientSeq: seq, base: seq - 1, op: ['k', { i: seq }] }, 40)
        expect(history.lastSeq).toBe(seq)
        expect(history.floor).toBe(seq)
        expect(history.bytes).toBe(0)
        expect(history.at(seq)).toBeUndefined()
        expect(history.covers(seq)).toBe(true)
        expect(history.covers(seq - 1)).toBe(false)
        expect(history.since(seq)).toEqual([])
        expect(history.since(seq - 1)).toBeUndefined()
      }
    }
  })
})
