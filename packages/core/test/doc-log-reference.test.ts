import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DocLog, type LogEntry } from '../dist/document/doc-log.js'
import { BIG } from '../dist/document/log-block.js'
import type { EndpointId } from '../dist/ids.js'
import { ReferenceDocLog } from './doc-log-reference.js'

/**
 * The DocLog keeps its entries as columns and its envelopes in slabs (log-block.ts). Whatever
 * is appended, however it is bounded and cleared, it must answer every question exactly as the
 * log of one object per entry did (doc-log-reference.ts): random appends (in order, with gaps
 * and repeats, small, big and view-of-a-larger-buffer envelopes), count and byte limits,
 * clears with and without a fingerprint, and every query around the kept range.
 */

const ORIGINS = ['aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'c'] as unknown as EndpointId[]

type Step =
  | { kind: 'append'; gap: number; origin: number; clientSeq: number; epoch: number; size: number; view: boolean }
  | { kind: 'run'; count: number; size: number }
  | { kind: 'clear'; seq: number; chain: boolean }

/** Steps; `run`: the largest run of in-order appends in one step, and how often one comes. */
const steps = (run: number, runWeight: number): fc.Arbitrary<Step> =>
  fc.oneof(
    {
      weight: 20,
      arbitrary: fc.record({
        kind: fc.constant('append' as const),
        gap: fc.oneof({ weight: 12, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: -2, max: 5 }) }),
        origin: fc.nat(2),
        clientSeq: fc.nat(50),
        epoch: fc.nat(3),
        size: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 300 }) }, { weight: 1, arbitrary: fc.integer({ min: BIG - 2, max: 3 * BIG }) }),
        view: fc.boolean(),
      }),
    },
    { weight: runWeight, arbitrary: fc.record({ kind: fc.constant('run' as const), count: fc.integer({ min: 1, max: run }), size: fc.integer({ min: 1, max: 200 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const), seq: fc.nat(100), chain: fc.boolean() }) },
  )

let fill = 0
/** An envelope of `size` bytes with varied content; `view`: inside a larger buffer, as received batches and pooled buffers are. */
function envelope(size: number, view: boolean): Uint8Array {
  const buffer = new Uint8Array(view ? size * 3 + 7 : size)
  const bytes = view ? buffer.subarray(5, 5 + size) : buffer
  for (let i = 0; i < size; i++) bytes[i] = (fill + i * 31) & 0xff
  fill++
  return bytes
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')

function plain(e: LogEntry | undefined): unknown {
  return e && { seq: e.seq, origin: e.origin, clientSeq: e.clientSeq, epoch: e.epoch, chain: e.chain, envelope: hex(e.envelope) }
}

/** `full`: also every query over the whole kept range (the costly ones, once per replay). */
function same(log: DocLog, ref: ReferenceDocLog, head: number, full: boolean): void {
  expect(log.length).toBe(ref.length)
  expect(log.bytes).toBe(ref.bytes)
  expect(log.firstSeq).toBe(ref.firstSeq)
  expect(log.generation).toBe(ref.generation)
  const first = ref.firstSeq ?? head
  const asks = new Set(full ? [0, -1, first - 2, first - 1, first, first + 1, head - 1, head, head + 1, head + 3, Math.floor((first + head) / 2)] : [head - 2, head, head + 1])
  for (const q of asks) {
    expect(log.since(q)?.map(hex)).toEqual(ref.since(q)?.map(hex))
    expect(plain(log.at(q))).toEqual(plain(ref.at(q)))
    expect(log.entriesAfter(q).map(plain)).toEqual(ref.entriesAfter(q).map(plain))
    expect(log.chainAt(q)).toBe(ref.chainAt(q))
  }
  if (full) for (let q = first; q <= head; q++) expect(log.chainAt(q)).toBe(ref.chainAt(q))
  for (const e of [ref.at(first), ref.at(head), ref.at(Math.floor((first + head) / 2))]) if (e) expect(log.find(e.origin, e.clientSeq)).toBe(ref.find(e.origin, e.clientSeq))
  for (const o of ORIGINS) for (const cs of [0, 1, 7, 25, 50]) expect(log.find(o, cs)).toBe(ref.find(o, cs))
}

function replay(limit: number, bytesLimit: number, steps: Step[]): void {
  const log = new DocLog(limit, bytesLimit)
  const ref = new ReferenceDocLog(limit, bytesLimit)
  let head = 0
  const both = (e: Omit<LogEntry, 'chain'>): void => {
    log.append({ ...e })
    ref.append({ ...e })
    head = e.seq
  }
  for (const s of steps) {
    if (s.kind === 'append') both({ seq: Math.max(1, head + s.gap), origin: ORIGINS[s.origin]!, clientSeq: s.clientSeq, epoch: s.epoch, envelope: envelope(s.size, s.view) })
    else if (s.kind === 'run') for (let i = 0; i < s.count; i++) both({ seq: head + 1, origin: ORIGINS[i % 3]!, clientSeq: head + 1, epoch: 1, envelope: envelope(s.size + (i % 5), i % 7 === 0) })
    else {
      const chain = s.chain ? ref.chainAt(head) : undefined
      log.clear(s.seq, s.seq === 0 && !s.chain ? undefined : chain)
      ref.clear(s.seq, s.seq === 0 && !s.chain ? undefined : chain)
      head = s.seq
    }
    same(log, ref, head, s.kind === 'clear')
  }
  same(log, ref, head, true)
}

describe('DocLog against the reference log (one object per entry)', () => {
  it('answers every query the same after random appends, limits and clears (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.oneof(fc.constant(Infinity), fc.integer({ min: 50, max: 20_000 })), fc.array(steps(1500, 2), { maxLength: 40 }), (limit, bytes, steps) =>
        replay(limit, bytes, steps),
      ),
      { seed: 17, numRuns: 300 },
    )
  })

  it('answers the same across many blocks (a limit of thousands, bytes-bounded and not)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1000, max: 5000 }),
        fc.oneof(fc.constant(Infinity), fc.integer({ min: 10_000, max: 400_000 })),
        fc.array(steps(4000, 8), { maxLength: 12 }),
        (limit, bytes, steps) => replay(limit, bytes, steps),
      ),
      { seed: 18, numRuns: 25 },
    )
  })

  it('keeps neither a larger buffer nor a released big envelope alive', () => {
    const log = new DocLog(2)
    const batch = new Uint8Array(100_000)
    const big = batch.subarray(10, 10 + 3 * BIG)
    log.append({ seq: 1, origin: ORIGINS[0]!, clientSeq: 1, epoch: 1, envelope: big })
    const kept = log.at(1)!.envelope
    expect([...kept]).toEqual([...big])
    // A copy of its own: the 100 kB batch it came in can go.
    expect(kept.buffer.byteLength).toBe(3 * BIG)
    const small = batch.subarray(0, 100)
    log.append({ seq: 2, origin: ORIGINS[0]!, clientSeq: 2, epoch: 1, envelope: small })
    expect(log.at(2)!.envelope.buffer).not.toBe(batch.buffer)
  })
})
