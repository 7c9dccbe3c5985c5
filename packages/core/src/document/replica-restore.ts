import type { DocId, EndpointId } from '../ids.js'
import { decodeMessage } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import { decodeJson } from '../protocol/json.js'
import { decodeFragmentBody } from '../protocol/ops.js'
import type { StoredDocument } from '../storage.js'
import type { LeafDocument, LeafPendingChange, LeafSentCopy, LeafSnapshot, LeafState } from '../leaf-storage.js'
import { applyOp, freezeDeep, type Op } from './ot.js'
import { opOf } from './legacy.js'
import type { DocLog } from './doc-log.js'
import { pendingFragment, type PendingFragment } from './fragment.js'

/**
 * Replaying what was kept (a root's storage, a leaf's) into a replica's state: the state at a
 * seq and the sequenced fragments after it, each checked to continue the one before. And the
 * inverse for a leaf: what it keeps of a replica now.
 */

/** One sequenced fragment as the replica records it (log, op history, dedupe table). */
export interface SequencedEntry {
  seq: number
  origin: EndpointId
  clientSeq: number
  epoch: number
  base: number
  envelope: Uint8Array
  op: Op
}

export interface Replayed {
  /** The seq and fingerprint the kept state starts at (the log and op history restart there). */
  fromSeq: number
  history: number | undefined
  /** From the stored snapshot: the highest clientSeq per origin it includes. */
  clientSeqs: ReadonlyArray<readonly [EndpointId, number]>
  state: unknown
  seq: number
  entries: SequencedEntry[]
}

/** A leaf's kept state and the fragments after it. Throws when the fragments do not continue the state. */
export function replayKept(doc: DocId, { state: kept, record }: LeafSnapshot): Replayed {
  let state = freezeDeep(kept.state)
  let seq = kept.seq
  const entries: SequencedEntry[] = []
  for (const envelope of record.sequenced) {
    const m = decodeMessage(envelope, Infinity)
    if (m.seq !== seq + 1 || m.doc !== doc || m.kind !== Kind.FRAGMENT) throw new Error(`kept fragment ${m.seq} does not follow seq ${seq}`)
    const op = opOf(decodeFragmentBody(m.payload), state)
    state = applyOp(state, op)
    entries.push({ seq: m.seq, origin: m.origin, clientSeq: m.clientSeq, epoch: m.epoch, base: m.baseSeq, envelope: m.raw, op })
    seq = m.seq
  }
  if (seq !== record.seq) throw new Error(`the kept fragments end at seq ${seq}, not ${record.seq}`)
  return { fromSeq: kept.seq, history: kept.history, clientSeqs: [], state, seq, entries }
}

/** A root's stored document: the newest snapshot, then the fragments after it. Throws when one does not apply. */
export function replayStored(doc: DocId, stored: StoredDocument): Replayed {
  let state: unknown = {}
  if (stored.snapshot) state = decodeJson(stored.snapshot.state, 'stored snapshot')
  state = freezeDeep(state)
  const fromSeq = stored.snapshot?.seq ?? 0
  let seq = fromSeq
  const entries: SequencedEntry[] = []
  for (const f of stored.fragments) {
    const m = decodeMessage(f.envelope, Infinity)
    let op: Op
    try {
      op = opOf(decodeFragmentBody(m.payload), state)
      state = applyOp(state, op)
    } catch (error) {
      throw new Error(`stored fragment ${f.seq} of "${doc}" does not apply to its snapshot (${(error as Error).message})`)
    }
    entries.push({ seq: f.seq, origin: f.origin, clientSeq: f.clientSeq, epoch: m.epoch, base: m.baseSeq, envelope: f.envelope, op })
    seq = f.seq
  }
  return { fromSeq, history: stored.snapshot?.history, clientSeqs: stored.snapshot ? [...stored.snapshot.clientSeqs] : [], state, seq, entries }
}

/** What a replica is, for `leafRecord`. */
export interface LeafSource {
  readonly log: DocLog
  readonly seq: number
  readonly confirmed: unknown
  readonly nextClientSeq: number
  readonly pending: readonly PendingFragment[]
}

/**
 * What a leaf keeps of a replica now. Given the state it kept last (`kept`: its seq, and the
 * log's generation then), only a record of what followed, when the log still holds all of it,
 * was not cleared since (no snapshot replaced the history) and it is at most `maxSequenced`
 * fragments; otherwise the state too, to be written with the record.
 */
export function leafRecord(r: LeafSource, kept: { seq: number; generation: number } | undefined, maxSequenced: number): { record: LeafDocument; state?: LeafState } {
  const pending = r.pending.map(keptChange)
  if (kept && kept.generation === r.log.generation && kept.seq <= r.seq && r.seq - kept.seq <= maxSequenced) {
    const entries = r.log.entriesAfter(kept.seq)
    if (entries.length === r.seq - kept.seq && (entries.length === 0 || entries[0]!.seq === kept.seq + 1)) {
      // Copies: an envelope may be a view into a larger received batch.
      const sequenced = entries.map((e) => e.envelope.slice())
      return { record: { stateSeq: kept.seq, sequenced, seq: r.seq, nextClientSeq: r.nextClientSeq, pending } }
    }
  }
  const history = r.log.chainAt(r.seq)
  return {
    record: { stateSeq: r.seq, sequenced: [], seq: r.seq, nextClientSeq: r.nextClientSeq, pending },
    state: { seq: r.seq, state: r.confirmed, ...(history !== undefined ? { history } : {}) },
  }
}

/**
 * A pending change as a leaf keeps it: its op now, and the copy of it that went up or is fixed
 * to go (see OwnChanges.arm) — what the root may sequence, whatever became of `op` since.
 */
function keptChange(p: PendingFragment): LeafPendingChange {
  const change = { clientSeq: p.fragment.clientSeq, op: p.op }
  let sent: LeafSentCopy | undefined
  if (p.sent) sent = { base: p.fragment.baseSeq, payload: p.payload, dirty: p.dirty, inDoubt: p.inDoubt }
  else if (p.armed) sent = { base: p.armed.base, payload: p.armed.payload, dirty: p.armed.op !== p.op, inDoubt: false }
  return sent ? { ...change, sent } : change
}

/**
 * The pending changes a leaf kept, as the replica holds them again: one that went up (or may
 * have) is sent again as that very copy, under its clientSeq, and what followed from it holds
 * as in the process that sent it (the changes after a rewritten one wait for its echo; one in
 * doubt has the later ones carried onto the form the root gave it). `refusedUpTo`: the
 * highest refusal of ours those copies were made after.
 */
export function restorePending(doc: DocId, self: EndpointId, kept: readonly LeafPendingChange[]): { pending: PendingFragment[]; refusedUpTo: number } {
  let refusedUpTo = 0
  const pending = kept.map((k) => {
    const p = pendingFragment(doc, self, k.clientSeq, k.op)
    if (k.sent === undefined) return p
    p.sent = true
    p.fragment.baseSeq = k.sent.base
    p.payload = k.sent.payload
    p.dirty = k.sent.dirty || k.sent.inDoubt
    p.inDoubt = k.sent.inDoubt
    try {
      p.sentRefused = decodeFragmentBody(k.sent.payload).rejections
    } catch {
      // the root answers an unreadable copy with the reason
    }
    refusedUpTo = Math.max(refusedUpTo, p.sentRefused)
    return p
  })
  return { pending, refusedUpTo }
}
