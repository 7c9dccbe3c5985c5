import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DocLog, type LogEntry } from '../dist/document/doc-log.js'
import type { EndpointId } from '../dist/ids.js'

const A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa' as EndpointId
const B = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb' as EndpointId

/** Entry `seq`: origin alternates A/B, clientSeq counts per origin, envelope encodes seq. */
function entry(seq: number, size = 4): LogEntry {
  const origin = seq % 2 === 1 ? A : B
  const envelope = new Uint8Array(size)
  new DataView(envelope.buffer).setUint32(0, seq)
  return { seq, origin, clientSeq: Math.ceil(seq / 2), envelope }
}
const seqOf = (e: Uint8Array) => new DataView(e.buffer, e.byteOffset).getUint32(0)

function logWith(limit: number, count: number, size = 4): DocLog {
  const log = new DocLog(limit)
  for (let s = 1; s <= count; s++) log.append(entry(s, size))
  return log
}

describe('DocLog', () => {
  it('starts empty', () => {
    const log = new DocLog(10)
    expect(log.length).toBe(0)
    expect(log.bytes).toBe(0)
    expect(log.firstSeq).toBeUndefined()
    expect(log.since(0)).toEqual([])
    expect(log.since(5)).toBeUndefined()
    expect(log.find(A, 1)).toBeUndefined()
  })

  it('keeps at most `limit` entries, dropping the oldest, and counts their bytes', () => {
    const log = logWith(3, 5, 10)
    expect(log.length).toBe(3)
    expect(log.firstSeq).toBe(3)
    expect(log.bytes).toBe(30)
    expect(log.since(2)!.map(seqOf)).toEqual([3, 4, 5])
  })

  it('since(seq) returns the envelopes after seq, in order', () => {
    const log = logWith(100, 10)
    expect(log.since(0)!.map(seqOf)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(log.since(4)!.map(seqOf)).toEqual([5, 6, 7, 8, 9, 10])
    expect(log.since(9)!.map(seqOf)).toEqual([10])
    expect(log.since(10)).toEqual([])
    expect(log.since(15)).toEqual([])
  })

  it('since(seq) is undefined once the log no longer reaches back to seq + 1', () => {
    const log = logWith(4, 10) // keeps 7..10
    expect(log.since(6)!.map(seqOf)).toEqual([7, 8, 9, 10])
    expect(log.since(5)).toBeUndefined()
    expect(log.since(0)).toBeUndefined()
  })

  it('find(origin, clientSeq) gives the seq while the entry is kept', () => {
    const log = logWith(4, 10) // 7(A,4) 8(B,4) 9(A,5) 10(B,5)
    expect(log.find(A, 5)).toBe(9)
    expect(log.find(B, 4)).toBe(8)
    expect(log.find(A, 4)).toBe(7)
    expect(log.find(B, 3)).toBeUndefined() // seq 6, dropped
    expect(log.find(A, 6)).toBeUndefined() // never
  })

  it('clear() empties it', () => {
    const log = logWith(10, 5)
    log.clear()
    expect(log.length).toBe(0)
    expect(log.bytes).toBe(0)
    expect(log.firstSeq).toBeUndefined()
    expect(log.since(0)).toEqual([])
    expect(log.find(A, 1)).toBeUndefined()
    log.append(entry(6))
    expect(log.since(5)!.map(seqOf)).toEqual([6])
  })

  it.each([
    // limit, appends, seqs around which every append is checked (where the array compacts)
    [50, 10_000, [1075, 2100]],
    [2000, 10_000, [4001, 8002]],
  ])('stays correct across many appends and the internal compaction (limit %i)', (limit, total, around) => {
    const size = (s: number) => 4 + (s % 7)
    const log = new DocLog(limit)
    for (let s = 1; s <= total; s++) {
      log.append(entry(s, size(s)))
      if (s % 997 === 0 || around.some((a) => Math.abs(a - s) <= 3)) check(s)
    }
    check(total)

    function check(head: number) {
      const n = Math.min(head, limit)
      const first = head - n + 1
      expect(log.length).toBe(n)
      expect(log.firstSeq).toBe(first)
      let bytes = 0
      for (let s = first; s <= head; s++) bytes += size(s)
      expect(log.bytes).toBe(bytes)
      expect(log.since(first - 1)!.map(seqOf)).toEqual(Array.from({ length: n }, (_, i) => first + i))
      expect(log.since(head - 3)!.map(seqOf)).toEqual([head - 2, head - 1, head].filter((s) => s >= first))
      if (first > 1) expect(log.since(first - 2)).toBeUndefined()
      expect(log.find(entry(head).origin, entry(head).clientSeq)).toBe(head)
      expect(log.find(entry(first).origin, entry(first).clientSeq)).toBe(first)
      if (first > 1) expect(log.find(entry(first - 1).origin, entry(first - 1).clientSeq)).toBeUndefined()
    }
  })

  it('matches a naive model for any limit and append count (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 2500 }), fc.integer({ min: 0, max: 2600 }), (limit, count, ask) => {
        const log = logWith(limit, count)
        const kept = Array.from({ length: count }, (_, i) => i + 1).slice(-limit)
        expect(log.length).toBe(kept.length)
        const expected = kept.length === 0 ? (ask === 0 ? [] : undefined) : kept[0]! > ask + 1 ? undefined : kept.filter((s) => s > ask)
        expect(log.since(ask)?.map(seqOf)).toEqual(expected)
      }),
      { seed: 8, numRuns: 150 },
    )
  })
})

describe('DocLog bounded by bytes (logBytes)', () => {
  it('drops the oldest entries once the bytes pass the limit, whatever the count', () => {
    const log = new DocLog(10_000, 10_000)
    for (let s = 1; s <= 400; s++) log.append(entry(s, 1000))
    expect(log.bytes).toBeLessThanOrEqual(10_000)
    expect(log.length).toBe(10)
    expect(log.firstSeq).toBe(391)
    // A catch-up from before the log gets a snapshot (undefined); from inside it, the entries.
    expect(log.since(100)).toBeUndefined()
    expect(log.since(395)!.map(seqOf)).toEqual([396, 397, 398, 399, 400])
  })

  it('keeps the newest entry even when it alone is larger than the limit', () => {
    const log = new DocLog(100, 500)
    log.append(entry(1, 100))
    log.append(entry(2, 2000))
    expect(log.length).toBe(1)
    expect(log.firstSeq).toBe(2)
    expect(log.bytes).toBe(2000)
  })

  it('holds the bytes it reports: count and bytes agree after many evictions (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 4, max: 300 }), { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 2000 }), (sizes, limit) => {
        const log = new DocLog(50, limit)
        sizes.forEach((size, i) => log.append(entry(i + 1, size)))
        const kept = sizes.slice(sizes.length - log.length)
        expect(log.bytes).toBe(kept.reduce((a, b) => a + b, 0))
        expect(log.length === 1 || log.bytes <= limit).toBe(true)
        expect(log.length).toBeLessThanOrEqual(50)
      }),
      { seed: 14, numRuns: 200 },
    )
  })
})

describe('DocLog history fingerprint', () => {
  const C = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc' as EndpointId
  const at = (seq: number, origin: EndpointId, clientSeq: number): LogEntry => ({ seq, origin, clientSeq, epoch: 1, envelope: new Uint8Array(1) })

  it('is equal for equal histories and differs when any earlier fragment differs, even with the same last fragment', () => {
    const ours = new DocLog(100)
    const theirs = new DocLog(100)
    const same = new DocLog(100)
    // Same change (C, 7) at seq 3 in both, after different fragments at seq 1.
    for (const e of [at(1, A, 1), at(2, B, 1), at(3, C, 7)]) ours.append(e)
    for (const e of [at(1, B, 1), at(2, A, 1), at(3, C, 7)]) theirs.append(e)
    for (const e of [at(1, A, 1), at(2, B, 1), at(3, C, 7)]) same.append(e)
    expect(ours.chainAt(3)).toBeDefined()
    expect(ours.chainAt(3)).toBe(same.chainAt(3))
    expect(ours.chainAt(3)).not.toBe(theirs.chainAt(3))
    expect(ours.chainAt(2)).not.toBe(theirs.chainAt(2))
  })

  it('carries on from a snapshot base, and is unknown after a base it was not told', () => {
    const full = new DocLog(100)
    for (let s = 1; s <= 6; s++) full.append(at(s, s % 2 ? A : B, s))
    const fromSnapshot = new DocLog(100)
    fromSnapshot.clear(4, full.chainAt(4))
    fromSnapshot.append(at(5, A, 5))
    fromSnapshot.append(at(6, B, 6))
    expect(fromSnapshot.chainAt(6)).toBe(full.chainAt(6))
    const unknown = new DocLog(100)
    unknown.clear(4)
    unknown.append(at(5, A, 5))
    expect(unknown.chainAt(5)).toBeUndefined()
  })

  it('is never 0 (0 means unknown on the wire) and fits a double exactly', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(A, B, C), fc.nat(1e6)), { maxLength: 50 }), (changes) => {
        const log = new DocLog(1000)
        changes.forEach(([origin, clientSeq], i) => log.append(at(i + 1, origin, clientSeq)))
        const chain = log.chainAt(changes.length)!
        return chain !== 0 && Number.isSafeInteger(chain)
      }),
    )
  })
})
