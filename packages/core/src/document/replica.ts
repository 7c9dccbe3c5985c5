import { ChangeRejectedError, MessageTooLargeError } from '../errors.js'
import { endpointIdFromBytes, type DocId, type EndpointId } from '../ids.js'
import { TypedEmitter } from '../events.js'
import { encodeMessage, type Message } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import { decodeJsonFrozen, encodeJson } from '../protocol/json.js'
import { snapshotMessageOf } from './snapshot-serve.js'
import { encodeOp } from '../protocol/ops.js'
import { BatchCodec, OpenCodec, type Snapshot } from '../protocol/payloads.js'
import { applyOp, applyOpAs, applyOps, freezeDeep, PlaceIndex, transformPast, type Op } from './ot.js'
import { opOf } from './legacy.js'
import { historyFor, type OpHistory } from './history-thaw.js'
import { DocLog } from './doc-log.js'
import { pendingFragment, remoteFragment, type Armed, type DocumentFragment, type PendingFragment } from './fragment.js'
import type { ReplicaIO } from './replica-io.js'
import type { StoredDocument, StoredSnapshot } from '../storage.js'
import type { LeafDocument, LeafSnapshot, LeafState } from '../leaf-storage.js'
import { Sequencer } from './sequencer.js'
import { SequencedInbox, type Sequenced } from './sequenced-inbox.js'
import { OwnChanges } from './own-changes.js'
import { PresenceTable } from './replica-presence.js'
import { leafRecord, replayKept, replayStored, restorePending, type SequencedEntry } from './replica-restore.js'
import { carryOnto, planJump, type Orphan } from './snapshot-jump.js'

export type ReplicaEvents = {
  /** The visible state changed: after a local change, remote fragments, a snapshot or a rollback. */
  change: [state: unknown, fragment: DocumentFragment | undefined, batch: readonly DocumentFragment[]]
  rejected: [error: ChangeRejectedError, fragment: DocumentFragment]
  presence: [presence: ReadonlyMap<EndpointId, unknown>]
  ready: []
  /** The parent refused to open the document (not authorized). */
  refused: [error: Error]
  /** The visible state moved by these ops in order, not made here (undo stacks follow them). */
  visibleOps: [ops: readonly Op[]]
  /** `seq` moved forward (sequenced fragments applied, own changes acknowledged, a snapshot). */
  seq: [seq: number]
  /** Caught up or not (see `Replica.caughtUp`). */
  status: [status: DocumentStatus]
}

/**
 * `caught-up`: every local change is confirmed by the root and this replica holds everything
 * its parent was last known to hold (heartbeats carry the parent's head seq). `syncing`: not
 * yet, or no longer.
 */
export type DocumentStatus = 'caught-up' | 'syncing'

/**
 * One endpoint's copy of one document. It keeps the confirmed state (everything the root
 * sequenced, applied in seq order), the pending local fragments, and the visible state, which
 * is always `confirmed + pending`. At the root it also sequences (see Sequencer).
 *
 * Incoming sequenced fragments are collected and applied once per tick in one immer pass.
 */
export class Replica {
  readonly events = new TypedEmitter<ReplicaEvents>()
  readonly log: DocLog
  confirmed: unknown = undefined
  visible: unknown = undefined
  seq = 0
  ready = false
  /** Highest sequenced clientSeq per origin, as of `seq`. */
  readonly clientSeqs = new Map<EndpointId, number>()
  nextClientSeq = 1
  /** Local references (Document handles) plus children that opened it through us. */
  readonly children = new Set<EndpointId>()
  localOpens = 0
  sequencer: Sequencer | undefined
  /** When the last catch-up request went out (0 = none in flight). */
  catchUpAt = 0
  /** Seq of the newest stored snapshot (root with storage). */
  snapshotSeq = 0
  /**
   * With storage: the seq the stored log (or snapshot) of this document is known to reach;
   * undefined while unknown. The sequencer compares it with `seq` before appending a batch
   * (see Sequencer #commit): a replica moved on by other means than its own batches (recovery
   * from survivors, adoption) is stored as a snapshot first, or the append would leave a gap.
   */
  storedUpTo: number | undefined
  /** Since when a heartbeat has shown the parent ahead of this replica (0 = not behind). */
  behindSince = 0
  /** When the last OPEN went up, and the initial state it offers (repeated until served). */
  openedAt = 0
  openInit: { hasInitial: boolean; initial: Uint8Array } = { hasInitial: false, initial: new Uint8Array(0) }
  /** True while an OPEN is unanswered: only then may a snapshot move this replica back. */
  expectSnapshot = false
  /** True from an OPEN until its answer (snapshot or catch-up) arrives. */
  get awaitingServe(): boolean {
    return this.#awaitingServe
  }

  set awaitingServe(value: boolean) {
    this.#awaitingServe = value
    if (value || !this.#restoredUnserved) return
    // What a leaf kept is current only once the parent has answered for it.
    this.#restoredUnserved = false
    this.checkStatus()
  }

  #awaitingServe = false
  /** Restored from a leaf's storage and not yet answered by the parent: not caught up, whatever it holds. */
  #restoredUnserved = false
  /** Recent sequenced ops: the root transforms against them (see Sequencer). None at a leaf. */
  history: OpHistory
  readonly #historyLimit: number
  readonly #historyBytes: number
  /** Sequenced fragments received and not yet applied. */
  readonly #incoming: SequencedInbox
  /** Our changes in flight: sending them, and the root's answers (see OwnChanges). */
  readonly #own: OwnChanges
  readonly #presence: PresenceTable
  #flushScheduled = false
  /**
   * Highest clientSeq the leaf's storage holds (Infinity without leaf storage): a change goes
   * upstream only once saved, so its clientSeq is never given again after a restart.
   */
  savedUpTo = Infinity
  /** Keeps this replica in the leaf's storage (see LeafPersister); stopped before anything is abandoned. */
  persister: { stop(flush?: boolean): void; schedule(): void } | undefined
  #status: DocumentStatus = 'syncing'
  /**
   * The places pending changes touch, so a foreign change on other places passes them without
   * a transform per pending change (a writer with 200 changes in flight did 200 per received
   * change). A superset: acknowledged changes stay in it until it is rebuilt. Undefined when it
   * must be rebuilt from `pending` (after anything but a local change or a rebase moved them).
   */
  #pendingPlaces: PlaceIndex | undefined
  /**
   * During a run of sequenced fragments, the visible state's moves (each foreign op as
   * rewritten past the pending changes), applied in one pass at the end of the run instead of
   * one copy of every container on their paths per fragment. Undefined outside a run.
   */
  #visibleOps: Op[] | undefined
  #pendingPlacesAdded = 0
  /** While a batched run is applied: confirmed is already final, so rebuilds wait for its end. */
  #deferRebuild = false
  /** Inside #following: the ops the visible state moved by, for one 'visibleOps' event. */
  #runFollowed: Op[] | undefined
  #needRebuild = false
  /** Set when a snapshot jump left changes in doubt; cleared lazily (see #hasDoubts). */
  #inDoubt = false

  constructor(
    readonly doc: DocId,
    readonly io: ReplicaIO,
    logLimit: number,
    readonly maxMessageBytes: number,
    logBytes = Infinity,
  ) {
    this.log = new DocLog(logLimit, logBytes)
    // A leaf never sequences (see ReplicaIO.canSequence): no op history to keep.
    this.history = historyFor(io.canSequence?.() === false ? 0 : Math.max(1024, logLimit), logBytes, this.log)
    this.#historyLimit = Math.max(1024, logLimit)
    this.#historyBytes = logBytes
    this.#incoming = new SequencedInbox(doc, io)
    this.#own = new OwnChanges(this)
    this.#presence = new PresenceTable(doc, io, this.events)
  }

  /** Local changes not yet sequenced, oldest first, each as it stands on `confirmed` plus those before it. */
  get pending(): PendingFragment[] {
    return this.#own.pending
  }

  /**
   * Whether our changes wait for a snapshot (the root said it lacks the history they were made
   * on): an open asked again — retried, or after a re-join — must ask for a snapshot then, not a
   * catch-up, or the changes wait for good (see Replicas.requestOpen).
   */
  get awaitsResync(): boolean {
    return this.#own.resyncing
  }

  /** The presence values of the document's endpoints. */
  get presence(): Map<EndpointId, unknown> {
    return this.#presence.values
  }

  /** Pending changes were removed or rewritten: the places they touch are recomputed when next needed. */
  pendingMoved(): void {
    this.#pendingPlaces = undefined
  }

  /** Whether every local change is confirmed and this replica holds all its parent was last known to hold. */
  get caughtUp(): boolean {
    return this.ready && !this.#restoredUnserved && this.pending.length === 0 && this.#own.awaitingVerdict.size === 0 && (this.io.isRoot() || this.seq >= this.#incoming.knownHead)
  }

  get status(): DocumentStatus {
    return this.#status
  }

  /** The parent holds the document up to `seq` (its heartbeat said so). */
  noteHead(seq: number): void {
    if (seq <= this.#incoming.knownHead) return
    this.#incoming.knownHead = seq
    this.checkStatus()
  }

  /** Emits `status` when caught-up changed. Called after anything that moves seq or pending. */
  checkStatus(): void {
    const status: DocumentStatus = this.caughtUp ? 'caught-up' : 'syncing'
    if (status === this.#status) return
    this.#status = status
    this.events.emit('status', status)
  }

  /** Seq moved forward: waiters on a seq hear it, and the status may change. */
  advanced(): void {
    this.events.emit('seq', this.seq)
    this.checkStatus()
  }

  /** The root creates the document, seeded with `initial`. */
  seed(initial: unknown): void {
    this.confirmed = this.visible = freezeDeep(initial)
    this.seq = 0
    this.#becomeReady()
  }

  becomeSequencer(): void {
    // Never expected at a leaf (it keeps no history): if it happens, the history starts here, and
    // a change made on an older base gets ERR_STALE_BASE and is rebased and resent by its origin.
    if (this.history.limit === 0) {
      this.history = historyFor(this.#historyLimit, this.#historyBytes, this.log)
      this.history.reset(this.seq)
    }
    this.sequencer ??= new Sequencer(this)
    // A snapshot asked of a parent (ERR_DIVERGED) will not come now: this replica is the root.
    this.#own.resyncing = false
    // No answer to a copy sent to the old parent comes through a root's own sequencer in a form
    // #acknowledgeHead can carry the rest past: what this root sequences is what it sends itself now.
    for (const p of this.pending) {
      if (!p.inDoubt) continue
      p.inDoubt = false
      p.sent = false
      p.dirty = false
    }
    this.#own.sendHeld()
  }

  // ---- local changes -------------------------------------------------------------------

  /** Records a local change already applied to `newVisible`, and sends or sequences it. */
  localChange(newVisible: unknown, op: Op): DocumentFragment {
    const encoded = { op, rejections: this.#own.refusedUpTo, payload: encodeOp(op, this.#own.refusedUpTo) } // sent as is (payloadOf)
    const size = encoded.payload.byteLength
    // Envelope overhead is well under 1 KB; refuse before anything is applied.
    if (size + 1024 > this.maxMessageBytes) throw new MessageTooLargeError(size, this.maxMessageBytes)
    const clientSeq = this.nextClientSeq++
    const pending = pendingFragment(this.doc, this.io.self, clientSeq, op, encoded)
    this.visible = newVisible
    if (this.sequencer?.canSequenceLocally && this.pending.length === 0) {
      this.sequencer.sequenceLocal(pending, newVisible)
    } else {
      this.pending.push(pending)
      this.#addPendingPlace(op)
      this.#own.sendHeld()
    }
    this.events.emit('change', this.visible, pending.fragment, [pending.fragment])
    this.checkStatus()
    return pending.fragment
  }

  /** The parent refused a change of ours for not knowing our open: it goes again once the open is served. */
  notOpen(): void {
    this.#own.notOpen()
  }

  /** Our OPEN was answered (a snapshot or a catch-up): changes refused for want of it go again now. Returns how many. */
  served(): number {
    return this.#own.served()
  }

  /** Resends pending fragments older than `olderThanMs` (or all, for a re-join), as they were sent. */
  resendPending(olderThanMs: number, fromClientSeq = 0): number {
    return this.#own.resend(olderThanMs, fromClientSeq)
  }

  /** Whether a leaf's storage keeps this replica (a change goes up only as a saved copy, see OwnChanges.arm). */
  get persisting(): boolean {
    return this.persister !== undefined
  }

  /** A change waits for a save that fixes its copy: the leaf's storage saves soon. */
  requestSave(): void {
    this.persister?.schedule()
  }

  /** The leaf's storage holds every change up to `upTo`: those may go upstream now. */
  saved(upTo: number): void {
    // Also when the counter did not move: the save may have fixed copies that go now.
    this.savedUpTo = Math.max(this.savedUpTo, upTo)
    this.#own.sendHeld()
  }

  /**
   * Restores what a leaf kept (a reload, or a restart while offline): the kept state, the
   * fragments sequenced after it, and the pending changes on top, to be sent again under their
   * own clientSeqs (the root answers those it already sequenced with their seq). Ready at once.
   * Throws (and leaves the replica as it was) when the fragments do not continue the state.
   */
  restoreLocal(kept: LeafSnapshot): void {
    const replayed = replayKept(this.doc, kept)
    // The log starts at the kept state's seq with its fingerprint (undefined: unknown), then the
    // fragments. Cleared before the history restarts: its cold entries are read from this log.
    this.log.clear(replayed.fromSeq, replayed.history)
    this.history.reset(replayed.fromSeq)
    for (const e of replayed.entries) this.#record(e)
    this.confirmed = replayed.state
    this.seq = replayed.seq
    const { record } = kept
    this.nextClientSeq = record.nextClientSeq
    this.savedUpTo = record.nextClientSeq - 1
    this.#restoredUnserved = true
    this.pending.length = 0
    this.#pendingPlaces = undefined
    const restored = restorePending(this.doc, this.io.self, record.pending)
    this.pending.push(...restored.pending)
    this.#own.refusedUpTo = restored.refusedUpTo
    this.#inDoubt = this.pending.some((p) => p.inDoubt)
    this.rebuildVisible()
    this.#becomeReady()
  }

  /**
   * What a leaf keeps of this replica now (see leafRecord), the changes that may go fixed in the
   * copies it holds; `armed`: those fixed now, which go once this is durable.
   */
  leafSnapshot(kept: { seq: number; generation: number } | undefined, maxSequenced: number): { record: LeafDocument; state?: LeafState; armed: Armed[] } {
    const armed = this.#own.arm()
    return { ...leafRecord(this, kept, maxSequenced), armed }
  }

  /** Records a sequenced fragment applied to `confirmed`: the log, the op history, the dedupe table. */
  #record(e: SequencedEntry, wireBytes?: number): void {
    this.clientSeqs.set(e.origin, Math.max(e.clientSeq, this.clientSeqs.get(e.origin) ?? 0))
    this.log.append({ seq: e.seq, origin: e.origin, clientSeq: e.clientSeq, epoch: e.epoch, envelope: e.envelope })
    this.history.append({ seq: e.seq, origin: e.origin, clientSeq: e.clientSeq, base: e.base, op: e.op }, wireBytes)
  }

  // ---- sequenced fragments from upstream ----------------------------------------------

  /** Accepts a sequenced FRAGMENT or a FRAGMENTS batch; applies them on the next tick. */
  receiveSequenced(message: Message): void {
    this.#incoming.receive(message, this.seq)
    this.#scheduleFlush()
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return
    this.#flushScheduled = true
    this.io.defer(() => {
      this.#flushScheduled = false
      this.flush()
    })
  }

  /** Applies every staged fragment that continues the sequence. Returns true if a gap remains. */
  flush(): boolean {
    if (!this.ready) return this.#incoming.size > 0
    const run = this.#incoming.takeRun(this.seq)
    if (run.length > 0) this.#applyRun(run)
    this.#incoming.dropUpTo(this.seq)
    if (this.#incoming.size > 0) this.requestCatchUp(250)
    return this.#incoming.size > 0
  }

  /** Asks the parent for what follows our seq, unless a request went out within `throttleMs`. */
  requestCatchUp(throttleMs: number): void {
    if (!this.ready || this.io.isRoot()) return
    const now = this.io.now()
    if (now - this.catchUpAt < throttleMs) return
    this.catchUpAt = now
    this.io.stats.resyncs++
    this.io.sendUp(encodeMessage({ kind: Kind.CATCH_UP, origin: this.io.self, doc: this.doc, seq: this.seq, epoch: this.io.epoch() }))
  }

  /** Called by the sequencer after it committed fragments: snapshots and compaction. */
  afterSequenced(): void {
    this.io.maybeSnapshot(this)
  }

  /**
   * Restores a stored document (a root after a restart): the newest snapshot, then the
   * fragments after it; the log, the op history and the dedupe table are rebuilt from them.
   */
  restore(stored: StoredDocument): void {
    const replayed = replayStored(this.doc, stored)
    for (const [origin, clientSeq] of replayed.clientSeqs) this.clientSeqs.set(origin, clientSeq)
    // The log first: the history's cold entries are read from the log it restarts with.
    if (replayed.fromSeq > 0) this.log.clear(replayed.fromSeq, replayed.history)
    this.history.reset(replayed.fromSeq)
    for (const e of replayed.entries) this.#record(e)
    this.confirmed = this.visible = replayed.state
    this.seq = replayed.seq
    this.snapshotSeq = stored.snapshot?.seq ?? 0
    this.storedUpTo = replayed.seq
    // Restarted under the id it had (option `id`): its counter goes on past what the store holds
    // of ours, or a new change would be taken for an old one and "confirmed" with its seq, lost.
    this.nextClientSeq = Math.max(this.nextClientSeq, (this.clientSeqs.get(this.io.self) ?? 0) + 1)
    this.#becomeReady()
  }

  /** The confirmed state as a stored snapshot (a root with storage). */
  storedSnapshot(): StoredSnapshot {
    return { seq: this.seq, state: encodeJson(this.confirmed), clientSeqs: [...this.clientSeqs], history: this.log.chainAt(this.seq) }
  }

  /** Forgets fragments staged from a previous parent (after a failover). */
  resetStaged(): void {
    this.#incoming.clear()
  }

  get hasGap(): boolean {
    return this.#incoming.size > 0
  }

  #applyRun(run: Sequenced[]): void {
    const foreign: DocumentFragment[] = []
    // Several fragments: applied in one immer pass (each container copied once), the
    // bookkeeping below then runs per fragment against the final state; a rebuild of the
    // visible state waits for the end of the run.
    let batched: unknown = undefined
    // While a change of ours is in doubt, each fragment's state is needed (see #acknowledgeHead).
    if (run.length > 1 && !this.#hasDoubts() && run.every((s) => s.body.patches === undefined)) {
      const { state, failed } = applyOps(
        this.confirmed,
        run.map((s) => s.body.op!),
        'table',
      )
      if (failed.length === 0) batched = state
    }
    this.#following(batched !== undefined, () => {
      for (const s of run) {
        let op: Op
        let state: unknown
        try {
          if (batched !== undefined) {
            op = s.body.op!
            state = batched
          } else {
            op = opOf(s.body, this.confirmed)
            state = applyOpAs(this.confirmed, op, 'table')
          }
        } catch (error) {
          // A sequenced fragment the root applied does not apply here: this replica diverged.
          // Never guess: drop to the last good state and resync from a snapshot.
          this.io.logger.error({ doc: this.doc, seq: s.seq, err: error }, 'a sequenced fragment did not apply; resyncing from a snapshot')
          this.ready = false
          this.#incoming.clear()
          this.rebuildVisible()
          this.requestSnapshot()
          return
        }
        const before = this.confirmed
        this.confirmed = state
        this.seq = s.seq
        this.io.stats.applied++
        this.#record({ seq: s.seq, origin: s.origin, clientSeq: s.clientSeq, epoch: s.epoch, base: s.base, envelope: s.envelope, op }, s.envelope.byteLength)
        if (s.origin === this.io.self && this.#acknowledgeHead(s.clientSeq, s.seq, batched === undefined ? before : undefined)) continue
        if (s.origin !== this.io.self) foreign.push(remoteFragment(this.doc, s.origin, s.clientSeq, s.seq, s.base, op))
        this.#rebaseOver(op)
      }
    })
    this.io.publishFragments(
      this.doc,
      run.map((s) => s.envelope),
    )
    this.#own.sendHeld()
    if (foreign.length > 0) this.events.emit('change', this.visible, foreign[foreign.length - 1], foreign)
    this.advanced()
  }

  /**
   * The sequencer's bookkeeping of a run it applied in one pass (`confirmed` is set to the state
   * after the whole run for each fragment): the visible state moves once, at the end.
   */
  followingRun(fn: () => void): void {
    this.#following(true, fn)
  }

  /**
   * Runs the bookkeeping of several sequenced fragments (`fn`) with the visible state moved once
   * at its end: the ops it moves by are collected and applied in one pass. `deferRebuild`: a
   * rebuild waits for the end too, as it must when `confirmed` is already the state after all
   * of them (a rebuild in between would add pending changes not yet rebased over the rest).
   */
  #following(deferRebuild: boolean, fn: () => void): void {
    this.#deferRebuild = deferRebuild
    this.#needRebuild = false
    this.#visibleOps = []
    const followed: Op[] = (this.#runFollowed = [])
    fn()
    this.#runFollowed = undefined
    // One event for the run (each is a microtask), not one per fragment.
    if (followed.length > 0) this.events.emit('visibleOps', followed)
    this.#deferRebuild = false
    const moves = this.#visibleOps ?? []
    this.#visibleOps = undefined
    if (this.#needRebuild) this.rebuildVisible()
    else if (moves.length > 0) {
      const { state, failed } = applyOps(this.visible, moves)
      if (failed.length === 0) this.visible = state
      else {
        this.io.logger.warn({ doc: this.doc }, 'pending changes did not rebase; recomputing the visible state')
        this.rebuildVisible()
      }
    }
  }

  /** The visible state moved by `op` (made elsewhere): undo stacks follow, once per run. */
  #followed(op: Op): void {
    if (this.#runFollowed) this.#runFollowed.push(op)
    else this.events.emit('visibleOps', [op])
  }

  #placesOfPending(): PlaceIndex {
    if (this.#pendingPlaces === undefined || this.#pendingPlacesAdded > 2 * this.pending.length + 64) {
      this.#pendingPlaces = new PlaceIndex()
      for (const p of this.pending) this.#pendingPlaces.add(p.op)
      this.#pendingPlacesAdded = this.pending.length
    }
    return this.#pendingPlaces
  }

  #addPendingPlace(op: Op): void {
    if (this.#pendingPlaces === undefined) return
    this.#pendingPlaces.add(op)
    this.#pendingPlacesAdded++
  }

  /**
   * Pending changes made before `op` was sequenced are rewritten to follow it (they will be
   * sequenced later, so they take the later side), and the visible state moves by `op` as
   * rewritten to follow them. Undo stacks follow the same way (the 'visibleOps' event).
   */
  #rebaseOver(op: Op): void {
    if (this.pending.length === 0) {
      this.visible = this.confirmed
      if (this.#visibleOps) this.#visibleOps.length = 0
      this.#followed(op)
      return
    }
    let over = op
    try {
      // On places no pending change touches, every transform below gives back its input
      // (transformOp: unrelated places commute): the loop would change nothing.
      if (this.#placesOfPending().touches(op)) {
        for (const p of this.pending) {
          const { op: next, over: past } = transformPast(p.op, over)
          over = past
          // Only a change that was rewritten differs from what was sent (ops on unrelated
          // paths come back as the very same op): only then do later changes wait.
          if (next !== p.op) {
            if (p.sent) p.dirty = true
            this.#addPendingPlace(next)
          }
          p.op = next
        }
      }
      if (this.#visibleOps) this.#visibleOps.push(over)
      else this.visible = applyOp(this.visible, over)
      this.#followed(over)
    } catch (error) {
      this.io.logger.warn({ doc: this.doc, err: error }, 'pending changes did not rebase; recomputing the visible state')
      this.rebuildVisible()
    }
  }

  /** The root sequenced one of its own pending changes (after a promotion, or with storage). */
  acknowledgeOwn(clientSeq: number, seq: number): void {
    this.#acknowledgeHead(clientSeq, seq)
    this.#own.sendHeld()
    this.checkStatus()
  }

  /** The root sequenced a foreign change (confirmed already includes it): pending follow it. */
  followSequenced(op: Op): void {
    this.#rebaseOver(op)
    this.#own.sendHeld()
  }

  /**
   * Our own change came back sequenced. The root sequences one origin's changes in clientSeq
   * order, so it is the head of pending, already rebased to this very form. Returns false
   * when it was not pending (a duplicate, or one rolled back meanwhile). `before`: the
   * confirmed state it was applied to, when known (needed for a change in doubt).
   */
  #acknowledgeHead(clientSeq: number, seq: number, before?: unknown): boolean {
    const verdict = this.#own.settleVerdict(clientSeq, seq)
    const head = this.pending[0]
    if (!head || head.fragment.clientSeq !== clientSeq) {
      const i = this.pending.findIndex((p) => p.fragment.clientSeq === clientSeq)
      if (i < 0) {
        if (!verdict) this.io.stats.duplicates++
        return false
      }
      // Earlier ones were refused and their rejection is still on its way: it will come.
      const [p] = this.pending.splice(i, 1)
      p!.resolve(seq)
      if (p!.inDoubt && before !== undefined) this.#carryPastDoubt(p!, before, this.pending.slice(0, i))
      this.rebuildVisible()
      return true
    }
    this.pending.shift()
    head.resolve(seq)
    if (head.inDoubt && before !== undefined) this.#carryPastDoubt(head, before, [])
    // Quiet: the visible state is equal (same op on the same state), down to key order.
    if (this.pending.length === 0) {
      this.visible = this.confirmed
      if (this.#visibleOps) this.#visibleOps.length = 0
    }
    // A change rebased here is re-derived from the root's form, so a mismatch cannot linger.
    else if (head.dirty) this.rebuildVisible()
    return true
  }

  /**
   * A change in doubt (sent before a snapshot jump, see snapshot-jump.ts) came back in the form
   * the root gave the copy it sequenced, which may not be the form we rebased it to. The changes
   * after it were made on ours (on `before` plus `earlier`, ours not yet answered): they are
   * carried onto the root's, the state confirmed now plus `earlier`.
   */
  #carryPastDoubt(p: PendingFragment, before: unknown, earlier: readonly PendingFragment[]): void {
    const rest = this.pending.slice(earlier.length)
    if (rest.length === 0) return
    const ops = earlier.map((q) => q.op)
    const madeOn = applyOps(before, [...ops, p.op]).state
    const target = ops.length > 0 ? applyOps(this.confirmed, ops).state : this.confirmed
    carryOnto(rest, madeOn, target)
    for (const q of rest) if (q.sent && !q.inDoubt) q.dirty = true
    this.#pendingPlaces = undefined
  }

  /** Whether a change of ours is in doubt (see snapshot-jump.ts); false once none is. */
  #hasDoubts(): boolean {
    if (this.#inDoubt) this.#inDoubt = this.pending.some((p) => p.inDoubt)
    return this.#inDoubt
  }

  /** visible = confirmed + pending; a pending change that no longer applies waits for its rejection. */
  rebuildVisible(): void {
    if (this.#deferRebuild) {
      this.#needRebuild = true
      return
    }
    if (this.#visibleOps) this.#visibleOps.length = 0
    // One pass (each container copied once, not once per pending change); a change that no
    // longer applies is left out until the root answers.
    this.visible = applyOps(
      this.confirmed,
      this.pending.map((p) => p.op),
    ).state
  }

  // ---- targeted replies ----------------------------------------------------------------

  /** The root's answer to a resent duplicate: it was sequenced as `seq` (0: the root's log no longer holds it; see OwnChanges.acknowledged). */
  acknowledged(clientSeq: number, seq: number): void {
    this.#own.acknowledged(clientSeq, seq)
  }

  /** The root refused a change, or asks for it again (see OwnChanges.rejected). */
  rejected(clientSeq: number, reason: string, code = 'ERR_CHANGE_REJECTED', minBase = 0, rootRejections = 0, answeredBase?: number): void {
    this.#own.rejected(clientSeq, reason, code, minBase, rootRejections, answeredBase)
  }

  /** What holds this replica's unanswered changes back, for a log line (see OwnChanges.diagnosis). */
  pendingDiagnosis(): Record<string, unknown> {
    return this.#own.diagnosis()
  }

  /** Local changes the root has not answered yet (pending, and resent ones awaiting a verdict). */
  get unsettled(): PendingFragment[] {
    return this.#own.unsettled
  }

  // ---- snapshots -----------------------------------------------------------------------

  /** Asks the parent for a full snapshot (an OPEN from seq 0), after this replica diverged. */
  requestSnapshot(): void {
    this.catchUpAt = this.io.now()
    this.io.stats.resyncs++
    this.expectSnapshot = true
    this.io.sendUp(encodeMessage({ kind: Kind.OPEN, origin: this.io.self, doc: this.doc, seq: 0, epoch: this.io.epoch(), payload: OpenCodec.encode({ ...this.openInit, lastEpoch: 0 }) }))
  }

  /**
   * Applies a snapshot at `seq`. Pending changes the root has handled (clientSeq up to the
   * snapshot's count for us) leave the visible state and are resent to learn their verdict:
   * the root answers a duplicate with its seq or its refusal, never a guess. A snapshot behind
   * this replica is only taken when one was asked for; then this replica's history diverged
   * from the root's (a failover lost fragments, or this endpoint was a stale root): its own
   * changes the root lacks are kept, as pending changes to be sequenced again, and `orphans`
   * (others' changes it lacks, to be passed up by the caller) have their payloads rewritten to
   * land on the snapshot where they stood (see rescueOnHead).
   */
  applySnapshot(seq: number, snapshot: Snapshot, orphans: readonly Orphan[] = []): void {
    if (this.ready && seq <= this.seq && !this.expectSnapshot) return
    this.expectSnapshot = false
    this.#own.resyncing = false
    const clientSeqs = new Map<EndpointId, number>()
    for (const { origin, clientSeq } of snapshot.clientSeqs) clientSeqs.set(endpointIdFromBytes(origin), clientSeq)
    const mine = clientSeqs.get(this.io.self) ?? 0
    // What must land on the snapshot, read off our history before it goes (see snapshot-jump.ts).
    const plan = planJump({ doc: this.doc, self: this.io.self, ready: this.ready, log: this.log, confirmed: this.confirmed, pending: this.pending }, mine, orphans)
    this.confirmed = decodeJsonFrozen(snapshot.state, 'snapshot state')
    this.seq = seq
    this.clientSeqs.clear()
    for (const [origin, clientSeq] of clientSeqs) this.clientSeqs.set(origin, clientSeq)
    this.#presence.replace(snapshot.presence)
    this.log.clear(seq, snapshot.history || undefined)
    this.history.reset(seq)
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const p = this.pending[i]!
      if (p.fragment.clientSeq <= mine) {
        this.pending.splice(i, 1)
        this.#own.askVerdict(p)
      }
    }
    // The jump skipped fragments we never saw: what stays pending is rebased onto the snapshot.
    // At a root, its own sequencer answers in process: nothing sent stays in doubt there.
    const kept = [...this.pending]
    const rescued = plan.land(this.confirmed, kept, !this.sequencer)
    if (rescued.length > 0) {
      this.io.logger.warn({ doc: this.doc, changes: rescued.length }, 'the root lacks some of our sequenced changes; resending them')
      this.pending.unshift(...rescued)
    }
    this.#pendingPlaces = undefined
    this.#inDoubt = kept.some((p) => p.inDoubt)
    if (this.nextClientSeq <= mine) this.nextClientSeq = mine + 1
    this.catchUpAt = 0
    this.#becomeReady()
    this.rebuildVisible()
    this.#own.sendHeld()
    this.flush()
    this.events.emit('change', this.visible, undefined, [])
    this.events.emit('presence', this.presence)
    this.advanced()
  }

  #becomeReady(): void {
    if (this.ready) return
    this.ready = true
    this.events.emit('ready')
    this.checkStatus()
  }

  /** The snapshot this replica can serve: its confirmed state, never its pending changes. */
  snapshotMessage(): Uint8Array {
    return snapshotMessageOf(this)
  }

  /**
   * Answers a child's catch-up from the log, or with a snapshot when the log does not reach
   * back or the child's history differs at `fromSeq` (its fragment there has another epoch).
   */
  catchUpMessage(fromSeq: number, childEpochAtSeq?: number): Uint8Array {
    if (fromSeq > this.seq) return this.snapshotMessage()
    const entry = this.log.at(fromSeq)
    if (childEpochAtSeq && entry && entry.epoch !== childEpochAtSeq) return this.snapshotMessage()
    const envelopes = this.log.since(fromSeq)
    if (!envelopes) return this.snapshotMessage()
    return encodeMessage({ kind: Kind.FRAGMENTS, origin: this.io.self, doc: this.doc, seq: this.seq, epoch: this.io.epoch(), payload: BatchCodec.encode({ envelopes }) })
  }

  // ---- presence ------------------------------------------------------------------------

  setPresence(origin: EndpointId, value: unknown): void {
    this.#presence.set(origin, value)
  }

  presenceMessage(origin: EndpointId, value: unknown): Uint8Array {
    return this.#presence.message(origin, value)
  }

  /** Rejects every pending change: the document is closing or the endpoint is going away. */
  abandon(reason: string): void {
    // What the leaf kept stays as it was: its pending changes are sent on the next open.
    this.persister?.stop(true)
    this.persister = undefined
    this.#own.abandon(reason)
  }
}
