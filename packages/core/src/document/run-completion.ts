import type { DocId } from '../ids.js'
import { remoteFragment, type DocumentFragment } from './fragment.js'
import type { OriginAnswers } from './origin-answers.js'
import type { Replica } from './replica.js'
import type { Prepared, Refused, SentBack } from './sequencer-run.js'

/**
 * A run is answered: its fragments join the log and the history at their seqs, refusals and
 * stale answers go out first, the root's own replica follows (its pending changes rebased over
 * each), then the sequenced fragments are published and the hooks told. Called once the run is
 * durable (with storage) and the root's leadership is certain.
 */
export function completeRun(r: Replica, answers: OriginAnswers, prepared: Prepared[], rejected: Refused[], stale: SentBack[], cut = false): void {
  const envelopes: Uint8Array[] = []
  // The fragments handed to 'change' listeners, made only when there are any: a root nobody
  // subscribes to in this process (a server) made an object per fragment for no one.
  const notify = r.events.listenerCount('change') > 0
  const applied: DocumentFragment[] = []
  for (const { candidate: c, entry, envelope } of prepared) {
    r.seq = entry.seq
    r.clientSeqs.set(c.origin, c.clientSeq)
    r.log.append({ seq: entry.seq, origin: c.origin, clientSeq: c.clientSeq, epoch: r.io.epoch(), envelope })
    r.history.append(entry, envelope.byteLength)
    r.io.stats.sequenced++
    envelopes.push(envelope)
  }
  // Refusals first: a stale answer tells the origin which refusal to wait for.
  for (const x of rejected) answers.refuse(x.candidate.origin, x.candidate.clientSeq, x.reason)
  for (const x of stale) answers.sendStale(x.candidate.origin, x.candidate.clientSeq, x.reason, x.minBase, x.candidate.base)
  // The root's own replica follows like any other: its pending changes rebased over each.
  const follow = (): void => {
    for (const { candidate: c, entry, state: after } of prepared) {
      r.confirmed = after
      if (c.origin === r.io.self) r.acknowledgeOwn(c.clientSeq, entry.seq)
      else {
        r.followSequenced(entry.op)
        if (notify) applied.push(remoteFragment(r.doc, c.origin, c.clientSeq, entry.seq, c.base, entry.op))
      }
    }
  }
  // Fragments of a shared pass all carry the state after the pass: the visible state is
  // then moved (or rebuilt) once at the end, as for a run of received fragments.
  let shared = false
  for (let i = 0; i < prepared.length && !shared; i++) shared = prepared[i]!.shared
  if (shared) r.followingRun(follow)
  else follow()
  if (envelopes.length > 0) r.io.publishFragments(r.doc, envelopes)
  if (applied.length > 0) r.events.emit('change', r.visible, applied[applied.length - 1], applied)
  if (prepared.length > 0) {
    r.advanced()
    // A batch cut in slices is one batch to the snapshot policy: checked once, at its end.
    if (!cut) r.afterSequenced()
    if (r.io.hooks?.notifies) {
      const events = prepared.map(({ candidate: c, entry, before, state: after }) => ({ doc: r.doc, endpoint: c.origin, ops: entry.op, before, after, seq: entry.seq, clientSeq: c.clientSeq }))
      r.io.hooks.sequenced(r.doc, events, () => storedNow(r))
    }
  }
}

/** What onStore stores: the confirmed state now. */
export function storedNow(r: Replica): { doc: DocId; seq: number; state: unknown } {
  return { doc: r.doc, seq: r.seq, state: r.confirmed }
}
