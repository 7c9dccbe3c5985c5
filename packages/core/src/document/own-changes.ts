import { ChangeRejectedError } from '../errors.js'
import type { DocId } from '../ids.js'
import type { TypedEmitter } from '../events.js'
import { encodeMessage } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import { encodeOp } from '../protocol/ops.js'
import { applyOp, invertOp, transformPast, type Op } from './ot.js'
import { payloadOf, type Armed, type PendingFragment } from './fragment.js'
import type { ReplicaIO } from './replica-io.js'
import type { ReplicaEvents } from './replica.js'
import type { Sequencer } from './sequencer.js'

/** What the own changes of a replica need from it (the Replica itself). */
export interface OwnChangesHost {
  readonly doc: DocId
  readonly io: ReplicaIO
  readonly events: TypedEmitter<ReplicaEvents>
  readonly seq: number
  readonly confirmed: unknown
  readonly visible: unknown
  /** Highest clientSeq the leaf's storage holds: a change goes up only once saved. */
  readonly savedUpTo: number
  /** Whether a leaf's storage keeps this replica: a change then goes up only as armed (see arm). */
  readonly persisting: boolean
  /** Asks the leaf's storage for a save soon (a change waits to be armed). */
  requestSave(): void
  readonly sequencer: Sequencer | undefined
  /** visible = confirmed + pending, after pending changed. */
  rebuildVisible(): void
  /** Pending changes were removed or rewritten: what they touch must be recomputed. */
  pendingMoved(): void
  checkStatus(): void
  requestCatchUp(throttleMs: number): void
  requestSnapshot(): void
}

/**
 * A replica's local changes in flight: which may go up now and in what form, and what the
 * root answered for each (sequenced, refused, asked again on a newer base, or unknown to a
 * root with another history). `pending` are applied on the visible state; `awaitingVerdict`
 * are changes a snapshot showed the root handled, resent to learn how.
 */
export class OwnChanges {
  readonly pending: PendingFragment[] = []
  /** Changes the root handled before a snapshot told us so, resent to learn how (see applySnapshot). */
  readonly awaitingVerdict = new Map<number, PendingFragment>()
  /** Highest clientSeq of ours we learned was refused (travels with every change we send). */
  refusedUpTo = 0
  /** Waiting for the root's snapshot after ERR_DIVERGED: nothing is sent meanwhile. */
  resyncing = false

  constructor(private readonly r: OwnChangesHost) {}

  /** Local changes the root has not answered yet (pending, and resent ones awaiting a verdict). */
  get unsettled(): PendingFragment[] {
    return [...this.awaitingVerdict.values(), ...this.pending]
  }

  /**
   * Sends the pending changes that may go now. A change is sent with base = our seq, and the
   * root reads it as made on that state plus our earlier unsequenced changes *as they were
   * sent*. That holds while none of those was rewritten since it was sent; once one was (a
   * foreign fragment touching the same place arrived first), later changes are held, rebased
   * locally as more arrive, and sent when the rewritten ones are sequenced. Without
   * concurrency on the same places nothing waits.
   *
   * With a leaf's storage, a change goes only as the copy a durable save holds (see `arm`): a
   * process that dies and restarts from that save resends exactly what may have gone up.
   */
  sendHeld(): void {
    if (this.resyncing) return
    let clean = true
    let unarmed = false
    for (const p of this.pending) {
      if (!p.sent && clean && this.#mayGo(p)) {
        if (!this.r.persisting) {
          if (p.fragment.clientSeq <= this.r.savedUpTo) this.#send(p)
        } else if (p.armed?.durable) this.#send(p)
        // (one fixed already goes when the save in flight that holds it is durable)
        else if (p.armed === undefined) unarmed = true
      }
      if (!p.sent || p.dirty) clean = false
    }
    if (unarmed) this.r.requestSave()
  }

  /** Whether the root can place `p` if sent now (else it waits for a newer base, or to hear of a refusal). */
  #mayGo(p: PendingFragment): boolean {
    return this.r.seq >= p.minBase && this.refusedUpTo >= p.minRefused
  }

  /**
   * For a leaf's save: fixes the copy each change that may go now will be sent as (its op on
   * the current seq), so the save holds it; once that save is durable it goes as fixed (see
   * sendHeld). The same changes sendHeld would send: in order, while every earlier one went (or
   * is fixed) and was not rewritten since. A fixed copy stays fixed until the root answers that
   * it cannot place it, or a snapshot jump or a refusal rewrites the change (see `disarm`).
   * Returns the copies fixed now, for the persister to mark durable.
   */
  arm(): Armed[] {
    const armed: Armed[] = []
    if (this.resyncing) return armed
    let clean = true
    for (const p of this.pending) {
      if (!p.sent && p.armed === undefined && clean && this.#mayGo(p)) {
        p.armed = { base: this.r.seq, payload: payloadOf(p, this.refusedUpTo, encodeOp), op: p.op, rejections: this.refusedUpTo, durable: false }
        armed.push(p.armed)
      }
      const copy = p.sent || p.armed !== undefined
      const rewritten = p.sent ? p.dirty : p.armed !== undefined && p.armed.op !== p.op
      if (!copy || rewritten) clean = false
    }
    return armed
  }

  #send(p: PendingFragment): void {
    const armed = p.armed
    p.fragment.baseSeq = armed ? armed.base : this.r.seq
    p.payload = armed ? armed.payload : payloadOf(p, this.refusedUpTo, encodeOp)
    p.sentRefused = armed ? armed.rejections : this.refusedUpTo
    p.sent = true
    // Sent on the base it was fixed on: rebased since, it is rewritten as if sent then.
    p.dirty = armed !== undefined && armed.op !== p.op
    p.inDoubt = false
    p.armed = undefined
    this.transmit(p)
  }

  /** Sends `p` again as it was sent. */
  transmit(p: PendingFragment): void {
    p.lastSentAt = this.r.io.now()
    const io = this.r.io
    io.sendUp(encodeMessage({ kind: Kind.FRAGMENT, origin: io.self, doc: this.r.doc, clientSeq: p.fragment.clientSeq, baseSeq: p.fragment.baseSeq, epoch: io.epoch(), payload: p.payload }))
  }

  /**
   * When the parent last refused a change of ours for not knowing our open of the document
   * (ERR_NOT_OPEN); undefined: none since our last open was served. A re-join resends our
   * changes right after the OPEN, and a relay that asks the root whether we may read before it
   * serves us refuses them meanwhile: they go again once the open is served (see `served`),
   * not `resendMs` later (2 s of every slow failover in bench/results/SUMMARY.md).
   */
  #notOpenAt: number | undefined

  /** The parent refused a change of ours: it did not know our open (ERR_NOT_OPEN). */
  notOpen(): void {
    this.#notOpenAt = this.r.io.now()
  }

  /**
   * Our open was served: the changes sent up to the last ERR_NOT_OPEN go again now, as they
   * were sent (the root answers any it sequenced already with its seq). Returns how many.
   */
  served(): number {
    const at = this.#notOpenAt
    if (at === undefined) return 0
    this.#notOpenAt = undefined
    let n = 0
    for (const p of this.unsettled) {
      if (!p.sent || p.lastSentAt > at) continue
      this.transmit(p)
      n++
    }
    return n
  }

  /** Resends pending fragments older than `olderThanMs` (or all, for a re-join), as they were sent. */
  resend(olderThanMs: number, fromClientSeq = 0): number {
    const now = this.r.io.now()
    let n = 0
    for (const p of this.unsettled) {
      if (p.fragment.clientSeq < fromClientSeq || !p.sent) continue
      if (now - p.lastSentAt >= olderThanMs) {
        this.transmit(p)
        n++
      }
    }
    this.sendHeld()
    return n
  }

  /**
   * A snapshot shows the root handled `p`: it leaves pending and is resent, for the root to
   * answer its clientSeq as a duplicate (its seq, or its refusal). One never sent here went up
   * from the process before a restart (its leaf's record kept no copy, see LeafPendingChange):
   * it is sent as it stands, which the root answers the same way, never sequences.
   */
  askVerdict(p: PendingFragment): void {
    this.awaitingVerdict.set(p.fragment.clientSeq, p)
    if (!p.sent) {
      p.payload = encodeOp(p.op, this.refusedUpTo)
      p.sentRefused = this.refusedUpTo
      p.armed = undefined
      p.sent = true
    }
    this.transmit(p)
  }

  /** Settles a change resent after a snapshot, if `clientSeq` is one: true if it was. */
  settleVerdict(clientSeq: number, seq: number): boolean {
    const verdict = this.awaitingVerdict.get(clientSeq)
    if (!verdict) return false
    this.awaitingVerdict.delete(clientSeq)
    verdict.resolve(seq)
    return true
  }

  /** The root's answer to a resent duplicate: it was sequenced as `seq` (0: its log no longer holds it). */
  acknowledged(clientSeq: number, seq: number): void {
    if (this.settleVerdict(clientSeq, seq)) return this.r.checkStatus()
    const i = this.pending.findIndex((p) => p.fragment.clientSeq === clientSeq)
    if (i < 0) return
    // Its echo is on its way (or was missed): our seq must reach it first, or the change
    // would count twice (confirmed and pending). A catch-up brings it. 0 (the root's log no
    // longer holds it) is no exception: a change still pending here was not applied here (its
    // echo takes it out of pending, a snapshot holding it makes it a verdict awaited), so it
    // lies after our seq too. A log bounded by bytes keeps only the last few fragments of a
    // busy document, and a resend answered late is answered so while the echo still waits in
    // our inbox. Let go of here, the change left the visible state, the changes made on top of
    // it were carried over its echo as over another's change (an insert moved twice, past the
    // end of its list), and one sent meanwhile went on a base without it that the root reads
    // as holding it (leaf-restart's jump interleavings, seeds 6, 10, 16 and 22, once the root's
    // op history reached back past its log's last few fragments). At the root answering itself,
    // 0 is a seq it holds: it sequenced the change, and has no parent to catch up from.
    if (seq > this.r.seq || (seq === 0 && !this.r.io.isRoot())) {
      this.r.requestCatchUp(250)
      return
    }
    const [p] = this.pending.splice(i, 1)
    p!.resolve(seq)
    this.r.rebuildVisible()
    this.sendHeld()
    this.r.checkStatus()
  }

  /**
   * The root refused a change. `code` ERR_STALE_BASE is not a refusal: the root could not
   * place it (its base is older than the root's history, or it was made on top of a change
   * that was refused) and asks for it again made on a state at least `minBase`.
   */
  rejected(clientSeq: number, reason: string, code = 'ERR_CHANGE_REJECTED', minBase = 0, rootRejections = 0, answeredBase?: number): void {
    if (code === 'ERR_STALE_BASE') return this.#stale(clientSeq, minBase, rootRejections, answeredBase)
    if (code === 'ERR_DIVERGED') return this.#diverged(clientSeq)
    const verdict = this.awaitingVerdict.get(clientSeq)
    if (verdict) {
      this.awaitingVerdict.delete(clientSeq)
      this.refusedUpTo = Math.max(this.refusedUpTo, clientSeq)
      const error = new ChangeRejectedError(this.r.doc, clientSeq, reason)
      verdict.reject(error)
      this.r.events.emit('rejected', error, verdict.fragment)
      this.r.checkStatus()
      return
    }
    const i = this.pending.findIndex((p) => p.fragment.clientSeq === clientSeq)
    if (i < 0) return
    const p = this.pending[i]!
    this.refusedUpTo = Math.max(this.refusedUpTo, clientSeq)
    // Later pending changes were made on top of this one: take it out from under them (they
    // are transformed over its inverse) and send them again, made on a state without it.
    let before = this.r.confirmed
    for (const q of this.pending.slice(0, i)) {
      try {
        before = applyOp(before, q.op)
      } catch {
        // a change that no longer applies waits for its own rejection
      }
    }
    let undo: Op = null
    try {
      undo = invertOp(p.op, before)
    } catch {
      undo = null
    }
    this.pending.splice(i, 1)
    this.r.pendingMoved()
    for (const q of this.pending.slice(i)) {
      try {
        ;({ op: q.op, over: undo } = transformPast(q.op, undo))
      } catch {
        // it stays as it was; the root decides
      }
      disarm(q)
    }
    const error = new ChangeRejectedError(this.r.doc, clientSeq, reason)
    p.reject(error)
    this.r.rebuildVisible()
    this.r.events.emit('visibleOps', [undo])
    this.sendHeld()
    this.r.events.emit('rejected', error, p.fragment)
    this.r.events.emit('change', this.r.visible, undefined, [])
    this.r.checkStatus()
  }

  /**
   * The root has not the history our change was made on (we followed another root): the
   * change and those after it wait, unsent, for the root's snapshot, which rebases them onto
   * its state (see applySnapshot); then they go again. Asked once however many come back.
   */
  #diverged(clientSeq: number): void {
    const i = this.pending.findIndex((p) => p.fragment.clientSeq === clientSeq)
    if (i < 0) return
    for (const q of this.pending.slice(i)) disarm(q)
    // Our own sequencer said so (a change sent on a base from before this endpoint became the
    // root): this replica's state is the root's, so the change goes again on it. Asking a
    // snapshot would ask ourselves, and nothing would be sent until it came.
    if (this.r.sequencer) return this.sendHeld()
    if (this.resyncing) return
    this.resyncing = true
    this.r.io.logger.warn({ doc: this.r.doc, seq: this.r.seq }, 'the root does not have the history our changes were made on; taking its snapshot before sending them again')
    this.r.requestSnapshot()
  }

  /**
   * The root could not place a change: its base is older than `minBase`, or it was made
   * before we learned that our change `rootRejections` was refused (on top of a refused
   * change). It is sent again, rebased, once both hold; nothing is lost and nothing loops.
   */
  #stale(clientSeq: number, minBase: number, rootRejections: number, answeredBase?: number): void {
    const i = this.pending.findIndex((p) => p.fragment.clientSeq === clientSeq)
    if (i < 0) return
    const p = this.pending[i]!
    // This answers an older copy: the one sent since has another base (the root says which
    // copy it answers), or already meets both conditions. At the root, answering its own
    // changes in process, in order, only the base counts: ignoring an answer to the copy in
    // flight left it unanswered for good (nothing resends a root's own changes). Elsewhere the
    // conditions count too: through relays, copies resent on an unchanged base cannot be told
    // apart, and acting on each answer to an older one sent them all again (a resend storm).
    const older = answeredBase !== undefined && p.fragment.baseSeq !== answeredBase
    const met = p.fragment.baseSeq >= minBase && p.sentRefused >= rootRejections
    if (p.sent && (older || (!this.r.sequencer && met))) return
    for (const q of this.pending.slice(i)) {
      disarm(q)
      q.minBase = Math.max(q.minBase, minBase)
      q.minRefused = Math.max(q.minRefused, rootRejections)
    }
    // Our seq must reach what the root asks for (a catch-up brings it). A refusal we have not
    // heard of is asked for by resending that change (its duplicate is answered with it); one
    // we no longer hold is simply taken note of.
    if (this.r.seq < minBase) this.r.requestCatchUp(0)
    if (this.refusedUpTo < rootRejections) {
      const unheard = this.unsettled.find((q) => q.fragment.clientSeq === rootRejections)
      if (unheard?.sent) this.transmit(unheard)
      else this.refusedUpTo = rootRejections
    }
    this.sendHeld()
  }

  /**
   * What holds the unanswered changes back, for a log line when the oldest waits too long:
   * the first unsent one and what it waits for; a sent one waits for its answer.
   */
  diagnosis(): Record<string, unknown> {
    const unsent = this.pending.findIndex((p) => !p.sent)
    const u = unsent >= 0 ? this.pending[unsent]! : undefined
    const sequencer = this.r.sequencer
    return {
      doc: this.r.doc,
      seq: this.r.seq,
      pending: this.pending.length,
      sent: this.pending.filter((p) => p.sent).length,
      oldest: this.pending[0]?.fragment.clientSeq,
      firstUnsent: u && { clientSeq: u.fragment.clientSeq, minBase: u.minBase, minRefused: u.minRefused, dirtyBefore: this.pending.slice(0, unsent).some((p) => p.dirty) },
      refusedUpTo: this.refusedUpTo,
      resyncing: this.resyncing,
      sequencer: sequencer && { paused: sequencer.paused, held: sequencer.heldCount },
    }
  }

  /** Rejects every unanswered change with `reason`. */
  abandon(reason: string): void {
    for (const p of [...this.awaitingVerdict.values(), ...this.pending.splice(0)]) p.reject(new ChangeRejectedError(this.r.doc, p.fragment.clientSeq, reason))
    this.awaitingVerdict.clear()
  }
}

/**
 * `p` goes again in a new form: what was sent or fixed of it will not be sequenced (the root
 * answered it could not place it, or it was made on top of a refused change), so a new copy is
 * fixed and sent (see OwnChanges.arm).
 */
export function disarm(p: PendingFragment): void {
  p.sent = false
  p.armed = undefined
}
