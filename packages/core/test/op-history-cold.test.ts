import { describe, expect, it } from 'vitest'
import { mulberry32 as rng } from '@zinc/transport-inproc'
import { encodeMessage } from '../dist/protocol/codec.js'
import { Kind } from '../dist/protocol/kinds.js'
import { encodeOp } from '../dist/protocol/ops.js'
import { DocLog } from '../dist/document/doc-log.js'
import { coldFromLog, historyFor, HOT_HISTORY } from '../dist/document/history-thaw.js'
import { insertOp, moveOp, removeOp, replaceOp, editOp, type Op } from '../dist/document/ot.js'
import { OpHistory, type HistoryEntry } from '../dist/document/op-history.js'
import { place, type Candidate } from '../dist/document/placement.js'
import { Replica } from '../dist/document/replica.js'
import type { DocId } from '../dist/ids.js'
import { FakeIO } from './fake-replica-io.js'
import type { EndpointId } from '../dist/ids.js'

/**
 * A root's op history keeps only its newest ops decoded and reads older ones back from the log
 * (history-thaw.ts). Against a history holding every op decoded, on random histories with
 * resets and a log that may keep less: it must reach back exactly as far wherever the log
 * still holds the entries, answer `at`/`since` with the same ops, bases and origins, and place
 * fragments the same (by the index and by the scan).
 */

const ORIGINS = ['aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'cccccccc-cccc-4ccc-8ccc-cccccccccccc'] as EndpointId[]
/** A writer with nothing in the history: its placement does not depend on sent forms. */
const NEWCOMER = 'dddddddd-dddd-4ddd-8ddd-dddddddddddd' as EndpointId

function randomOp(r: () => number): Op {
  const int = (n: number) => Math.floor(r() * n)
  const key = () => `k${int(6)}`
  switch (int(8)) {
    case 0:
    case 1:
      return replaceOp(['m', key()], { v: int(9) }, { v: int(9) })
    case 2:
      return insertOp(['m', key()], { v: int(9) })
    case 3:
      return removeOp(['m', key()], { v: int(9) })
    case 4:
      return insertOp(['l', int(5)], { v: int(9) })
    case 5:
      return editOp(['t', key()], 'text-unicode', [int(4), 'ab'])
    case 6:
      return moveOp(['l', int(5)], ['l', int(5)])
    default:
      return removeOp(['l', int(5)], { v: int(9) })
  }
}

/** The history's comparable part of an entry (a thawed one does not know its sent form). */
const plain = (e: HistoryEntry | undefined) => e && { seq: e.seq, origin: e.origin, clientSeq: e.clientSeq, base: e.base, op: e.op }

describe('OpHistory with cold entries read back from the log', () => {
  it('answers as a history holding every op decoded, as far as the log reaches (random histories)', () => {
    let thawedCompared = 0
    for (let seed = 1; seed <= 16; seed++) {
      const r = rng(seed)
      const limit = seed % 2 === 0 ? 60 : 200
      // The log sometimes keeps fewer entries than the history would reach back.
      const log = new DocLog(seed % 3 === 0 ? 40 : 1000)
      const hot = 1 + Math.floor(r() * 20)
      const thawing = new OpHistory(limit, Infinity, hot, coldFromLog(log))
      const full = new OpHistory(limit)
      let seq = 0
      for (let round = 0; round < 30; round++) {
        if (r() < 0.05) {
          // a snapshot: both start again, as the replica does
          seq = Math.max(0, seq - Math.floor(r() * 20))
          log.clear(seq)
          thawing.reset(seq)
          full.reset(seq)
        }
        const n = Math.floor(r() * 30)
        for (let i = 0; i < n; i++) {
          seq++
          const origin = ORIGINS[Math.floor(r() * ORIGINS.length)]!
          const op = randomOp(r)
          const base = Math.max(0, seq - 1 - Math.floor(r() * 10))
          const envelope = encodeMessage({ kind: Kind.FRAGMENT, origin, sender: origin, doc: 'd', clientSeq: seq, seq, baseSeq: base, epoch: 1, payload: encodeOp(op) })
          log.append({ seq, origin, clientSeq: seq, epoch: 1, envelope })
          // As the origin sent it: mostly as sequenced, or transformed (another op), or unknown.
          const sent = r() < 0.15 ? randomOp(r) : r() < 0.05 ? undefined : op
          const entry = { seq, origin, clientSeq: seq, base, op, sent }
          thawing.append({ ...entry }, envelope.byteLength)
          full.append({ ...entry }, envelope.byteLength)
        }
        expect(thawing.lastSeq).toBe(full.lastSeq)
        const logReaches = (log.firstSeq ?? seq + 1) - 1
        const span = seq - full.floor + 1
        const bases = new Set([full.floor - 1, full.floor, thawing.hotFloor - 1, thawing.hotFloor, logReaches - 1, logReaches, seq, seq + 1])
        for (let k = 0; k < 6; k++) bases.add(full.floor + Math.floor(r() * span))
        for (const base of bases) {
          // Where the log no longer holds them, entries still thawed from before may answer.
          const covers = thawing.covers(base)
          if (!full.covers(base)) expect(covers, `seed ${seed} round ${round} base ${base}`).toBe(false)
          else if (base >= thawing.hotFloor || base >= logReaches) expect(covers, `seed ${seed} round ${round} base ${base}`).toBe(true)
          if (!covers) continue
          const since = thawing.since(base)!
          expect(since.map(plain)).toEqual(full.since(base)!.map(plain))
          // The sent form: known where it was the op; else unknown, or known if it cooled while thawed ones were in use.
          for (const e of since) {
            const was = full.at(e.seq)!
            if (was.sent === was.op) expect(e.sent).toEqual(e.op)
            else if (e.sent !== undefined) expect(e.sent).toEqual(was.sent)
          }
          expect(plain(thawing.at(base + 1))).toEqual(plain(full.at(base + 1)))
          if (base < thawing.hotFloor) thawedCompared++
          const c: Candidate = { origin: NEWCOMER, clientSeq: 1, base, body: { op: randomOp(r), rejections: 0 }, payload: new Uint8Array() }
          const scanned = place(c, null, { seq, history: full } as unknown as Replica, new Map(), 0, [], false)
          expect(place(c, null, { seq, history: thawing } as unknown as Replica, new Map(), 0, [], true)).toEqual(scanned)
          expect(place(c, null, { seq, history: thawing } as unknown as Replica, new Map(), 0, [], false)).toEqual(scanned)
          // A writer with changes in the history: by the index as by the scan (the index holds hot entries only).
          const own: Candidate = { ...c, origin: ORIGINS[Math.floor(r() * ORIGINS.length)]! }
          const replica = { seq, history: thawing } as unknown as Replica
          expect(place(own, null, replica, new Map(), 0, [], true)).toEqual(place(own, null, replica, new Map(), 0, [], false))
        }
      }
    }
    expect(thawedCompared).toBeGreaterThan(2000)
  })

  it('keeps HOT_HISTORY ops decoded and reaches back to the log limit through it (historyFor)', () => {
    const log = new DocLog(10_000)
    const history = historyFor(10_000, Infinity, log)
    const origin = ORIGINS[0]!
    for (let seq = 1; seq <= 3 * HOT_HISTORY; seq++) {
      const op = replaceOp(['v'], seq - 1, seq)
      const envelope = encodeMessage({ kind: Kind.FRAGMENT, origin, sender: origin, doc: 'd', clientSeq: seq, seq, baseSeq: seq - 1, epoch: 1, payload: encodeOp(op) })
      log.append({ seq, origin, clientSeq: seq, epoch: 1, envelope })
      history.append({ seq, origin, clientSeq: seq, base: seq - 1, op, sent: op }, envelope.byteLength)
    }
    expect(history.hotFloor).toBe(2 * HOT_HISTORY)
    expect(history.floor).toBe(0)
    expect(history.covers(10)).toBe(true)
    const since = history.since(10)!
    expect(since.length).toBe(3 * HOT_HISTORY - 10)
    expect(plain(since[0])).toEqual({ seq: 11, origin, clientSeq: 11, base: 10, op: replaceOp(['v'], 10, 11) })
    // A log cleared behind the history's back (another history) is not read.
    log.clear(5)
    expect(history.since(HOT_HISTORY)).toBeDefined() // thawed already
    const other = historyFor(10_000, Infinity, log)
    other.reset(0)
    expect(other.covers(0)).toBe(true)
    log.clear(7)
    other.append({ seq: 1, origin, clientSeq: 1, base: 0, op: null, sent: null })
    expect(other.at(1)).toBeDefined()
  })

  it('holds only the hot entries decoded, and lets thawed ones go once no base reaches back there', () => {
    const log = new DocLog(10_000)
    const history = new OpHistory(10_000, Infinity, 8, coldFromLog(log))
    const origin = ORIGINS[0]!
    const appended: HistoryEntry[] = []
    const add = (seq: number) => {
      const op = replaceOp(['v'], seq - 1, seq)
      const envelope = encodeMessage({ kind: Kind.FRAGMENT, origin, sender: origin, doc: 'd', clientSeq: seq, seq, baseSeq: seq - 1, epoch: 1, payload: encodeOp(op) })
      log.append({ seq, origin, clientSeq: seq, epoch: 1, envelope })
      appended[seq] = { seq, origin, clientSeq: seq, base: seq - 1, op, sent: op }
      history.append(appended[seq]!, envelope.byteLength)
    }
    for (let seq = 1; seq <= 100; seq++) add(seq)
    // The newest 8 are the entries appended; older ones are decoded again (another object).
    expect(history.at(100)).toBe(appended[100])
    expect(history.at(93)).toBe(appended[93])
    const thawed = history.at(50)!
    expect(thawed).not.toBe(appended[50])
    expect(thawed.sent).toEqual(thawed.op) // sent as sequenced: known from its bit
    expect(history.at(50)).toBe(thawed) // kept thawed while in use
    // Cooled while thawed ones are in use: kept as appended (its sent form known).
    add(101)
    expect(history.at(93)).toBe(appended[93])
    // Not used for more than 1024 appends: let go, decoded anew if ever asked again.
    for (let seq = 102; seq <= 1200; seq++) add(seq)
    expect(history.at(150)).not.toBe(appended[150])
    expect(history.at(50)).not.toBe(thawed)
  })

  it('a root restored from its storage reads its cold entries from the log it restored', () => {
    // A snapshot at seq 5, then more fragments than the hot window holds.
    const origin = ORIGINS[0]!
    const fragments = []
    for (let seq = 6; seq <= 5 + 2 * HOT_HISTORY; seq++) {
      const envelope = encodeMessage({ kind: Kind.FRAGMENT, origin, sender: origin, doc: 'd', clientSeq: seq, seq, baseSeq: seq - 1, epoch: 1, payload: encodeOp(['log', 0, { i: seq }]) })
      fragments.push({ seq, origin, clientSeq: seq, envelope })
    }
    const snapshot = { seq: 5, state: new TextEncoder().encode('{"log":[]}'), clientSeqs: [] }
    const root = new Replica('d' as DocId, new FakeIO(ORIGINS[1]!, true), 10_000, 1 << 20)
    root.restore({ snapshot, fragments })
    expect(root.seq).toBe(5 + 2 * HOT_HISTORY)
    expect(root.history.hotFloor).toBe(5 + HOT_HISTORY)
    // The log was cleared to the snapshot's seq before the history restarted: it is read, not taken for another history.
    expect(root.history.covers(10)).toBe(true)
    expect(plain(root.history.at(11))).toEqual({ seq: 11, origin, clientSeq: 11, base: 10, op: ['log', 0, { i: 11 }] })
  })
})
