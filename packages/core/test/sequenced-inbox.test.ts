import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SequencedInbox } from '../dist/document/sequenced-inbox.js'
import { newEndpointId, type DocId } from '../dist/ids.js'
import { decodeMessage, encodeMessage, type Message } from '../dist/protocol/codec.js'
import { Kind } from '../dist/protocol/kinds.js'
import { encodeOp } from '../dist/protocol/ops.js'
import { BatchCodec } from '../dist/protocol/payloads.js'

/**
 * The inbox keeps fragments that arrive in order in a list, the others in a map: it must take
 * out exactly the runs, and count exactly the duplicates, that the map alone (as it was) did.
 */

const DOC = 'inbox-doc' as DocId
const origin = newEndpointId()

/** The inbox as it was: every staged fragment in a map. */
class MapInbox {
  readonly staged = new Map<number, number>()
  duplicates = 0
  receive(seqs: number[], seq: number): void {
    for (const s of seqs) {
      if (s <= seq || this.staged.has(s)) this.duplicates++
      else this.staged.set(s, s)
    }
  }
  takeRun(seq: number): number[] {
    const run: number[] = []
    for (let next = seq + 1; this.staged.has(next); next++) {
      run.push(next)
      this.staged.delete(next)
    }
    return run
  }
  dropUpTo(seq: number): void {
    for (const s of this.staged.keys()) if (s <= seq) this.staged.delete(s)
  }
}

const fragment = (seq: number): Uint8Array =>
  encodeMessage({ kind: Kind.FRAGMENT, origin, sender: origin, doc: DOC, clientSeq: seq, seq, baseSeq: seq - 1, epoch: 1, payload: encodeOp(['n', { r: true, i: seq }]) })

function message(seqs: number[]): Message {
  if (seqs.length === 1) return decodeMessage(fragment(seqs[0]!), Infinity)
  return decodeMessage(encodeMessage({ kind: Kind.FRAGMENTS, origin, doc: DOC, epoch: 1, payload: BatchCodec.encode({ envelopes: seqs.map(fragment) }) }), Infinity)
}

function inbox() {
  const stats = { dropped: 0, duplicates: 0 }
  return { stats, inbox: new SequencedInbox(DOC, { stats } as never) }
}

describe('SequencedInbox', () => {
  it('takes a run received in order whole, and one out of order as the map did', () => {
    const { inbox: box } = inbox()
    box.receive(message([1, 2, 3]), 0)
    box.receive(message([4]), 0)
    expect(box.takeRun(0).map((s) => s.seq)).toEqual([1, 2, 3, 4])
    box.receive(message([7, 6]), 4)
    box.receive(message([5]), 4)
    expect(box.size).toBe(3)
    expect(box.takeRun(4).map((s) => s.seq)).toEqual([5, 6, 7])
    expect(box.size).toBe(0)
  })

  it('agrees with a map of every staged fragment on runs, sizes and duplicates (property)', () => {
    const step = fc.oneof(
      fc.record({ receive: fc.array(fc.integer({ min: -2, max: 8 }), { minLength: 1, maxLength: 6 }) }),
      fc.record({ take: fc.constant(true) }),
      fc.record({ jump: fc.integer({ min: -3, max: 6 }) }),
      fc.record({ clear: fc.constant(true) }),
    )
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const { inbox: box, stats } = inbox()
        const reference = new MapInbox()
        let seq = 0
        for (const s of steps) {
          if ('receive' in s) {
            // seqs near the replica's, as a parent sends them (in order, repeated, ahead, behind)
            const seqs = s.receive.map((d) => Math.max(1, seq + d))
            box.receive(message(seqs), seq)
            reference.receive(seqs, seq)
          } else if ('take' in s) {
            const run = box.takeRun(seq).map((f) => f.seq)
            expect(run).toEqual(reference.takeRun(seq))
            if (run.length > 0) seq = run[run.length - 1]!
            box.dropUpTo(seq)
            reference.dropUpTo(seq)
          } else if ('jump' in s) {
            // a snapshot or a restore moves the replica's seq
            seq = Math.max(0, seq + s.jump)
          } else {
            box.clear()
            reference.staged.clear()
          }
          expect(box.size).toBe(reference.staged.size)
          expect(stats.duplicates).toBe(reference.duplicates)
        }
      }),
      { numRuns: 1500 },
    )
  })
})
