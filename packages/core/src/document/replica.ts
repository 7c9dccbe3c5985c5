import { ChangeRejectedError, MessageTooLargeError } from '../errors.js'
import { endpointIdFromBytes, endpointIdToBytes, type DocId, type EndpointId } from '../ids.js'
import { TypedEmitter } from '../events.js'
import { decodeMessage, encodeMessage, type Message } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import { decodeJson, encodeJson } from '../protocol/json.js'
import { decodeFragmentBody, encodeOp, type FragmentBody } from '../protocol/ops.js'
import { BatchCodec, OpenCodec, SnapshotCodec, type Snapshot } from '../protocol/payloads.js'
import { sharedFragmentBody } from '../protocol/shared-bodies.js'
import { applyOp, applyOps, freezeDeep, invertOp, PlaceIndex, transformPast, type Op } from './ot.js'
import { diffToOp } from './diff.js'
import { opOf } from './legacy.js'
import { OpHistory } from './op-history.js'
import { DocLog } from './doc-log.js'
import { pendingFragment, remoteFragment, type DocumentFragment, type PendingFragment } from './fragment.js'
import type { ReplicaIO } from './replica-io.js'
import type { StoredDocument, StoredSnapshot } from '../storage.js'
import type { LeafDocument, LeafSnapshot, LeafState } from '../leaf-storage.js'
import { Sequencer } from './sequencer.js'

interface Sequenced {
  seq: number
  origin: EndpointId
  clientSeq: number
  epoch: number
  base: number
  body: FragmentBody
  envelope: Uint8Array
}

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
  readonly presence = new Map<EndpointId, unknown>()
  readonly pending: PendingFragment[] = []
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
  /** Recent sequenced ops: the root transforms against them (see Sequencer). */
  readonly history: OpHistory
  readonly #incoming = new Map<number, Sequenced>()
  /** Changes the root handled before a snapshot told us so, resent to learn how (see applySnapshot). */
  readonly #awaitingVerdict = new Map<number, PendingFragment>()
  /** Highest clientSeq of ours we learned was refused (travels with every change we send). */
  #refusedUpTo = 0
  #flushScheduled = false
  /**
   * Highest clientSeq the leaf's storage holds (Infinity without leaf storage): a change goes
   * upstream only once saved, so its clientSeq is never given again after a restart.
   */
  savedUpTo = Infinity
  /** Keeps this replica in the leaf's storage (see LeafPersister); stopped before anything is abandoned. */
  persister: { stop(flush?: boolean): void } | undefined
  /** Highest seq the parent was last known to hold (its heartbeats, the fragments it sent). */
  #knownHead = 0
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

  constructor(
    readonly doc: DocId,
    readonly io: ReplicaIO,
    logLimit: number,
    readonly maxMessageBytes: number,
    logBytes = Infinity,
  ) {
    this.log = new DocLog(logLimit, logBytes)
    this.history = new OpHistory(Math.max(1024, logLimit), logBytes)
  }

  /** Whether every local change is confirmed and this replica holds all its parent was last known to hold. */
  get caughtUp(): boolean {
    return this.ready && !this.#restoredUnserved && this.pending.length === 0 && this.#awaitingVerdict.size === 0 && (this.io.isRoot() || this.seq >= this.#knownHead)
  }

  get status(): DocumentStatus {
    return this.#status
  }

  /** The parent holds the document up to `seq` (its heartbeat said so). */
  noteHead(seq: number): void {
    if (seq <= this.#knownHead) return
    this.#knownHead = seq
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
    this.sequencer ??= new Sequencer(this)
    // A snapshot asked of a parent (ERR_DIVERGED) will not come now: this replica is the root.
    this.#resyncing = false
    this.#sendHeld()
  }

  // ---- local changes -------------------------------------------------------------------

  /** Records a local change already applied to `newVisible`, and sends or sequences it. */
  localChange(newVisible: unknown, op: Op): DocumentFragment {
    const size = encodeOp(op).byteLength
    // Envelope overhead is well under 1 KB; refuse before anything is applied.
    if (size + 1024 > this.maxMessageBytes) throw new MessageTooLargeError(size, this.maxMessageBytes)
    const clientSeq = this.nextClientSeq++
    const pending = pendingFragment(this.doc, this.io.self, clientSeq, op)
    this.visible = newVisible
    if (this.sequencer?.canSequenceLocally && this.pending.length === 0) {
      this.sequencer.sequenceLocal(pending, newVisible)
    } else {
      this.pending.push(pending)
      this.#addPendingPlace(op)
      this.#sendHeld()
    }
    this.events.emit('change', this.visible, pending.fragment, [pending.fragment])
    this.checkStatus()
    return pending.fragment
  }

  /**
   * Sends the pending changes that may go now. A change is sent with base = our seq, and the
   * root reads it as made on that state plus our earlier unsequenced changes *as they were
   * sent*. That holds while none of those was rewritten since it was sent; once one was (a
   * foreign fragment touching the same place arrived first), later changes are held, rebased
   * locally as more arrive, and sent when the rewritten ones are sequenced. Without
   * concurrency on the same places nothing waits.
   */
  #sendHeld(): void {
    if (this.#resyncing) return
    let clean = true
    for (const p of this.pending) {
      if (!p.sent && clean && this.seq >= p.minBase && this.#refusedUpTo >= p.minRefused && p.fragment.clientSeq <= this.savedUpTo) this.#send(p)
      if (!p.sent || p.dirty) clean = false
    }
  }

  #send(p: PendingFragment): void {
    p.fragment.baseSeq = this.seq
    p.payload = encodeOp(p.op, this.#refusedUpTo)
    p.sentRefused = this.#refusedUpTo
    p.sent = true
    p.dirty = false
    this.#transmit(p)
  }

  #transmit(p: PendingFragment): void {
    p.lastSentAt = Date.now()
    this.io.sendUp(
      encodeMessage({ kind: Kind.FRAGMENT, origin: this.io.self, doc: this.doc, clientSeq: p.fragment.clientSeq, baseSeq: p.fragment.baseSeq, epoch: this.io.epoch(), payload: p.payload }),
    )
  }

  /** Resends pending fragments older than `olderThanMs` (or all, for a re-join), as they were sent. */
  resendPending(olderThanMs: number, fromClientSeq = 0): number {
    const now = Date.now()
    let n = 0
    for (const p of [...this.#awaitingVerdict.values(), ...this.pending]) {
      if (p.fragment.clientSeq < fromClientSeq || !p.sent) continue
      if (now - p.lastSentAt >= olderThanMs) {
        this.#transmit(p)
        n++
      }
    }
    this.#sendHeld()
    return n
  }

  /** The leaf's storage holds every change up to `upTo`: those may go upstream now. */
  saved(upTo: number): void {
    if (upTo <= this.savedUpTo) return
    this.savedUpTo = upTo
    this.#sendHeld()
  }

  /**
   * Restores what a leaf kept (a reload, or a restart while offline): the kept state, the
   * fragments sequenced after it, and the pending changes on top, to be sent again under their
   * own clientSeqs (the root answers those it already sequenced with their seq). Ready at once.
   * Throws (and leaves the replica as it was) when the fragments do not continue the state.
   */
  restoreLocal({ state: kept, record }: LeafSnapshot): void {
    let state = freezeDeep(kept.state)
    let seq = kept.seq
    const entries: Array<{ m: Message; op: Op }> = []
    for (const envelope of record.sequenced) {
      const m = decodeMessage(envelope, Infinity)
      if (m.seq !== seq + 1 || m.doc !== this.doc || m.kind !== Kind.FRAGMENT) throw new Error(`kept fragment ${m.seq} does not follow seq ${seq}`)
      const op = opOf(decodeFragmentBody(m.payload), state)
      state = applyOp(state, op)
      entries.push({ m, op })
      seq = m.seq
    }
    if (seq !== record.seq) throw new Error(`the kept fragments end at seq ${seq}, not ${record.seq}`)
    this.history.reset(kept.seq)
    // The log starts at the kept state's seq with its fingerprint (undefined: unknown), then the fragments.
    this.log.clear(kept.seq, kept.history)
    for (const { m, op } of entries) {
      this.log.append({ seq: m.seq, origin: m.origin, clientSeq: m.clientSeq, epoch: m.epoch, envelope: m.raw })
      this.history.append({ seq: m.seq, origin: m.origin, clientSeq: m.clientSeq, base: m.baseSeq, op })
      this.clientSeqs.set(m.origin, Math.max(m.clientSeq, this.clientSeqs.get(m.origin) ?? 0))
    }
    this.confirmed = state
    this.seq = seq
    this.nextClientSeq = record.nextClientSeq
    this.savedUpTo = record.nextClientSeq - 1
    this.#restoredUnserved = true
    this.pending.length = 0
    this.#pendingPlaces = undefined
    for (const p of record.pending) this.pending.push(pendingFragment(this.doc, this.io.self, p.clientSeq, p.op))
    this.#rebuildVisible()
    this.#becomeReady()
  }

  /**
   * What a leaf keeps of this replica now. Given the state it kept last (`kept`: its seq, and
   * the log's generation then), only a record of what followed, when the log still holds all of
   * it, was not cleared since (no snapshot replaced the history) and it is at most `maxSequenced`
   * fragments; otherwise the state too, to be written with the record.
   */
  leafSnapshot(kept: { seq: number; generation: number } | undefined, maxSequenced: number): { record: LeafDocument; state?: LeafState } {
    const pending = this.pending.map((p) => ({ clientSeq: p.fragment.clientSeq, op: p.op }))
    if (kept && kept.generation === this.log.generation && kept.seq <= this.seq && this.seq - kept.seq <= maxSequenced) {
      const entries = this.log.entriesAfter(kept.seq)
      if (entries.length === this.seq - kept.seq && (entries.length === 0 || entries[0]!.seq === kept.seq + 1)) {
        // Copies: an envelope may be a view into a larger received batch.
        const sequenced = entries.map((e) => e.envelope.slice())
        return { record: { stateSeq: kept.seq, sequenced, seq: this.seq, nextClientSeq: this.nextClientSeq, pending } }
      }
    }
    const history = this.log.chainAt(this.seq)
    return {
      record: { stateSeq: this.seq, sequenced: [], seq: this.seq, nextClientSeq: this.nextClientSeq, pending },
      state: { seq: this.seq, state: this.confirmed, ...(history !== undefined ? { history } : {}) },
    }
  }

  // ---- sequenced fragments from upstream ----------------------------------------------

  /** Accepts a sequenced FRAGMENT or a FRAGMENTS batch; applies them on the next tick. */
  receiveSequenced(message: Message): void {
    if (message.kind === Kind.FRAGMENTS) {
      for (const bytes of BatchCodec.decode(message.payload).envelopes) {
        const inner = decodeMessage(bytes, Infinity)
        if (inner.kind === Kind.FRAGMENT && inner.doc === this.doc && inner.seq > 0) this.#stage(inner)
        else this.io.stats.dropped++
      }
    } else {
      this.#stage(message)
    }
    this.#scheduleFlush()
  }

  #stage(m: Message): void {
    if (m.seq > this.#knownHead) this.#knownHead = m.seq
    if (m.seq <= this.seq || this.#incoming.has(m.seq)) {
      this.io.stats.duplicates++
      return
    }
    this.#incoming.set(m.seq, { seq: m.seq, origin: m.origin, clientSeq: m.clientSeq, epoch: m.epoch, base: m.baseSeq, body: sharedFragmentBody(this.doc, m.epoch, m.seq, m.payload), envelope: m.raw })
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
    const run: Sequenced[] = []
    for (let next = this.seq + 1; this.#incoming.has(next); next++) {
      run.push(this.#incoming.get(next)!)
      this.#incoming.delete(next)
    }
    if (run.length > 0) this.#applyRun(run)
    for (const seq of this.#incoming.keys()) if (seq <= this.seq) this.#incoming.delete(seq)
    if (this.#incoming.size > 0) this.requestCatchUp(250)
    return this.#incoming.size > 0
  }

  /** Asks the parent for what follows our seq, unless a request went out within `throttleMs`. */
  requestCatchUp(throttleMs: number): void {
    if (!this.ready || this.io.isRoot()) return
    const now = Date.now()
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
    let state: unknown = {}
    if (stored.snapshot) {
      state = decodeJson(stored.snapshot.state, 'stored snapshot')
      for (const [origin, clientSeq] of stored.snapshot.clientSeqs) this.clientSeqs.set(origin, clientSeq)
    }
    state = freezeDeep(state)
    let seq = stored.snapshot?.seq ?? 0
    this.history.reset(seq)
    if (seq > 0) this.log.clear(seq, stored.snapshot?.history)
    for (const f of stored.fragments) {
      const m = decodeMessage(f.envelope, Infinity)
      let op: Op
      try {
        op = opOf(decodeFragmentBody(m.payload), state)
        state = applyOp(state, op)
      } catch (error) {
        throw new Error(`stored fragment ${f.seq} of "${this.doc}" does not apply to its snapshot (${(error as Error).message})`)
      }
      this.clientSeqs.set(f.origin, Math.max(f.clientSeq, this.clientSeqs.get(f.origin) ?? 0))
      this.log.append({ seq: f.seq, origin: f.origin, clientSeq: f.clientSeq, epoch: m.epoch, envelope: f.envelope })
      this.history.append({ seq: f.seq, origin: f.origin, clientSeq: f.clientSeq, base: m.baseSeq, op })
      seq = f.seq
    }
    this.confirmed = this.visible = state
    this.seq = seq
    this.snapshotSeq = stored.snapshot?.seq ?? 0
    this.storedUpTo = seq
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
    if (run.length > 1 && run.every((s) => s.body.patches === undefined)) {
      const { state, failed } = applyOps(
        this.confirmed,
        run.map((s) => s.body.op!),
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
            state = applyOp(this.confirmed, op)
          }
        } catch (error) {
          // A sequenced fragment the root applied does not apply here: this replica diverged.
          // Never guess: drop to the last good state and resync from a snapshot.
          this.io.logger.error({ doc: this.doc, seq: s.seq, err: error }, 'a sequenced fragment did not apply; resyncing from a snapshot')
          this.ready = false
          this.#incoming.clear()
          this.#rebuildVisible()
          this.requestSnapshot()
          return
        }
        this.confirmed = state
        this.seq = s.seq
        this.io.stats.applied++
        this.clientSeqs.set(s.origin, Math.max(s.clientSeq, this.clientSeqs.get(s.origin) ?? 0))
        this.log.append({ seq: s.seq, origin: s.origin, clientSeq: s.clientSeq, epoch: s.epoch, envelope: s.envelope })
        this.history.append({ seq: s.seq, origin: s.origin, clientSeq: s.clientSeq, base: s.base, op }, s.envelope.byteLength)
        if (s.origin === this.io.self && this.#acknowledgeHead(s.clientSeq, s.seq)) continue
        if (s.origin !== this.io.self) foreign.push(remoteFragment(this.doc, s.origin, s.clientSeq, s.seq, s.base, op))
        this.#rebaseOver(op)
      }
    })
    this.io.publishFragments(
      this.doc,
      run.map((s) => s.envelope),
    )
    this.#sendHeld()
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
    if (this.#needRebuild) this.#rebuildVisible()
    else if (moves.length > 0) {
      const { state, failed } = applyOps(this.visible, moves)
      if (failed.length === 0) this.visible = state
      else {
        this.io.logger.warn({ doc: this.doc }, 'pending changes did not rebase; recomputing the visible state')
        this.#rebuildVisible()
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
      this.#rebuildVisible()
    }
  }

  /** The root sequenced one of its own pending changes (after a promotion, or with storage). */
  acknowledgeOwn(clientSeq: number, seq: number): void {
    this.#acknowledgeHead(clientSeq, seq)
    this.#sendHeld()
    this.checkStatus()
  }

  /** The root sequenced a foreign change (confirmed already includes it): pending follow it. */
  followSequenced(op: Op): void {
    this.#rebaseOver(op)
    this.#sendHeld()
  }

  /**
   * Our own change came back sequenced. The root sequences one origin's changes in clientSeq
   * order, so it is the head of pending, already rebased to this very form. Returns false
   * when it was not pending (a duplicate, or one rolled back meanwhile).
   */
  #acknowledgeHead(clientSeq: number, seq: number): boolean {
    const verdict = this.#awaitingVerdict.get(clientSeq)
    if (verdict) {
      this.#awaitingVerdict.delete(clientSeq)
      verdict.resolve(seq)
    }
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
      this.#rebuildVisible()
      return true
    }
    this.pending.shift()
    head.resolve(seq)
    // Quiet: the visible state is equal (same op on the same state), down to key order.
    if (this.pending.length === 0) {
      this.visible = this.confirmed
      if (this.#visibleOps) this.#visibleOps.length = 0
    }
    // A change rebased here is re-derived from the root's form, so a mismatch cannot linger.
    else if (head.dirty) this.#rebuildVisible()
    return true
  }

  /** visible = confirmed + pending; a pending change that no longer applies waits for its rejection. */
  #rebuildVisible(): void {
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

  /** The root's answer to a resent duplicate: it was sequenced as `seq` (0 = long ago). */
  acknowledged(clientSeq: number, seq: number): void {
    const verdict = this.#awaitingVerdict.get(clientSeq)
    if (verdict) {
      this.#awaitingVerdict.delete(clientSeq)
      verdict.resolve(seq)
      this.checkStatus()
      return
    }
    const i = this.pending.findIndex((p) => p.fragment.clientSeq === clientSeq)
    if (i < 0) return
    // Its echo is on its way (or was missed): our seq must reach it first, or the change
    // would count twice (confirmed and pending). A catch-up brings it. (0: sequenced before
    // anything the root still logs; it leaves pending now and arrives with the catch-up.)
    if (seq > this.seq) {
      this.requestCatchUp(250)
      return
    }
    const [p] = this.pending.splice(i, 1)
    p!.resolve(seq)
    this.#rebuildVisible()
    this.#sendHeld()
    this.checkStatus()
  }

  /**
   * The root refused a change. `code` ERR_STALE_BASE is not a refusal: the root could not
   * place it (its base is older than the root's history, or it was made on top of a change
   * that was refused) and asks for it again made on a state at least `minBase`.
   */
  rejected(clientSeq: number, reason: string, code = 'ERR_CHANGE_REJECTED', minBase = 0, rootRejections = 0, answeredBase?: number): void {
    if (code === 'ERR_STALE_BASE') return this.#stale(clientSeq, minBase, rootRejections, answeredBase)
    if (code === 'ERR_DIVERGED') return this.#diverged(clientSeq)
    const verdict = this.#awaitingVerdict.get(clientSeq)
    if (verdict) {
      this.#awaitingVerdict.delete(clientSeq)
      this.#refusedUpTo = Math.max(this.#refusedUpTo, clientSeq)
      const error = new ChangeRejectedError(this.doc, clientSeq, reason)
      verdict.reject(error)
      this.events.emit('rejected', error, verdict.fragment)
      this.checkStatus()
      return
    }
    const i = this.pending.findIndex((p) => p.fragment.clientSeq === clientSeq)
    if (i < 0) return
    const p = this.pending[i]!
    this.#refusedUpTo = Math.max(this.#refusedUpTo, clientSeq)
    // Later pending changes were made on top of this one: take it out from under them (they
    // are transformed over its inverse) and send them again, made on a state without it.
    let before = this.confirmed
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
    this.#pendingPlaces = undefined
    for (const q of this.pending.slice(i)) {
      try {
        ;({ op: q.op, over: undo } = transformPast(q.op, undo))
      } catch {
        // it stays as it was; the root decides
      }
      q.sent = false
    }
    const error = new ChangeRejectedError(this.doc, clientSeq, reason)
    p.reject(error)
    this.#rebuildVisible()
    this.events.emit('visibleOps', [undo])
    this.#sendHeld()
    this.events.emit('rejected', error, p.fragment)
    this.events.emit('change', this.visible, undefined, [])
    this.checkStatus()
  }

  /**
   * The root could not place a change: its base is older than `minBase`, or it was made before
   * we learned that our change `rootRejections` was refused (on top of a refused change). It is sent again, rebased, once both hold; nothing is lost and nothing loops.
   */
  /**
   * The root has not the history our change was made on (we followed another root): the
   * change and those after it wait, unsent, for the root's snapshot, which rebases them onto
   * its state (see applySnapshot); then they go again. Asked once however many come back.
   */
  #diverged(clientSeq: number): void {
    const i = this.pending.findIndex((p) => p.fragment.clientSeq === clientSeq)
    if (i < 0) return
    for (const q of this.pending.slice(i)) q.sent = false
    // Our own sequencer said so (a change sent on a base from before this endpoint became the
    // root): this replica's state is the root's, so the change goes again on it. Asking a
    // snapshot would ask ourselves, and nothing would be sent until it came.
    if (this.sequencer) return this.#sendHeld()
    if (this.#resyncing) return
    this.#resyncing = true
    this.io.logger.warn({ doc: this.doc, seq: this.seq }, 'the root does not have the history our changes were made on; taking its snapshot before sending them again')
    this.requestSnapshot()
  }

  /** Waiting for the root's snapshot after ERR_DIVERGED: nothing is sent meanwhile. */
  #resyncing = false

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
    if (p.sent && (older || (!this.sequencer && met))) return
    for (const q of this.pending.slice(i)) {
      q.sent = false
      q.minBase = Math.max(q.minBase, minBase)
      q.minRefused = Math.max(q.minRefused, rootRejections)
    }
    // Our seq must reach what the root asks for (a catch-up brings it). A refusal we have not
    // heard of is asked for by resending that change (its duplicate is answered with it); one
    // we no longer hold is simply taken note of.
    if (this.seq < minBase) this.requestCatchUp(0)
    if (this.#refusedUpTo < rootRejections) {
      const unheard = this.unsettled.find((q) => q.fragment.clientSeq === rootRejections)
      if (unheard?.sent) this.#transmit(unheard)
      else this.#refusedUpTo = rootRejections
    }
    this.#sendHeld()
  }

  /**
   * What holds this replica's unanswered changes back, for a log line when the oldest waits
   * too long: the first unsent one and what it waits for; a sent one waits for its answer.
   */
  pendingDiagnosis(): Record<string, unknown> {
    const unsent = this.pending.findIndex((p) => !p.sent)
    const u = unsent >= 0 ? this.pending[unsent]! : undefined
    return {
      doc: this.doc,
      seq: this.seq,
      pending: this.pending.length,
      sent: this.pending.filter((p) => p.sent).length,
      oldest: this.pending[0]?.fragment.clientSeq,
      firstUnsent: u && { clientSeq: u.fragment.clientSeq, minBase: u.minBase, minRefused: u.minRefused, dirtyBefore: this.pending.slice(0, unsent).some((p) => p.dirty) },
      refusedUpTo: this.#refusedUpTo,
      resyncing: this.#resyncing,
      sequencer: this.sequencer && { paused: this.sequencer.paused, held: this.sequencer.heldCount },
    }
  }

  /** Local changes the root has not answered yet (pending, and resent ones awaiting a verdict). */
  get unsettled(): PendingFragment[] {
    return [...this.#awaitingVerdict.values(), ...this.pending]
  }

  // ---- snapshots -----------------------------------------------------------------------

  /** Asks the parent for a full snapshot (an OPEN from seq 0), after this replica diverged. */
  requestSnapshot(): void {
    this.catchUpAt = Date.now()
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
   * changes the root lacks are kept, as pending changes to be sequenced again.
   */
  applySnapshot(seq: number, snapshot: Snapshot): void {
    if (this.ready && seq <= this.seq && !this.expectSnapshot) return
    this.expectSnapshot = false
    this.#resyncing = false
    const clientSeqs = new Map<EndpointId, number>()
    for (const { origin, clientSeq } of snapshot.clientSeqs) clientSeqs.set(endpointIdFromBytes(origin), clientSeq)
    const mine = clientSeqs.get(this.io.self) ?? 0
    // Our log may hold own changes the root lacks even when this replica is not ready: it was
    // when a fragment that did not apply sent it to resync, and those changes are confirmed.
    const rescued = this.ready || this.log.length > 0 ? this.#ownBeyond(mine) : []
    // What our remaining pending changes were made on: the old confirmed state plus our
    // changes the snapshot already contains (they leave pending below).
    let madeOn: unknown = this.ready && this.pending.length > 0 ? this.confirmed : undefined
    if (madeOn !== undefined) {
      for (const p of this.pending) {
        if (p.fragment.clientSeq > mine) break
        try {
          madeOn = applyOp(madeOn, p.op)
        } catch {
          // left out
        }
      }
    }
    this.confirmed = freezeDeep(decodeJson(snapshot.state, 'snapshot state'))
    this.seq = seq
    this.clientSeqs.clear()
    for (const [origin, clientSeq] of clientSeqs) this.clientSeqs.set(origin, clientSeq)
    const own = this.presence.get(this.io.self)
    this.presence.clear()
    for (const { origin, value } of snapshot.presence) this.presence.set(endpointIdFromBytes(origin), decodeJson(value, 'presence'))
    if (own !== undefined) this.#keepOwnPresence(own)
    this.log.clear(seq, snapshot.history || undefined)
    this.history.reset(seq)
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const p = this.pending[i]!
      if (p.fragment.clientSeq <= mine) {
        this.pending.splice(i, 1)
        this.#awaitingVerdict.set(p.fragment.clientSeq, p)
        if (p.sent) this.#transmit(p)
      }
    }
    if (rescued.length > 0) {
      this.io.logger.warn({ doc: this.doc, changes: rescued.length }, 'the root lacks some of our sequenced changes; resending them')
      this.pending.unshift(...rescued)
    }
    this.#pendingPlaces = undefined
    // The jump skipped fragments we never saw: what stays pending is rebased over the
    // difference between what it was made on and the snapshot (list elements paired by
    // position, strings by text diff), and sent again on the new seq. Rarely exact, never
    // silently wrong: a change that no longer applies is refused with the reason.
    if (madeOn !== undefined) {
      let jump: Op = null
      try {
        jump = diffToOp(madeOn, this.confirmed)
      } catch {
        jump = null
      }
      for (const p of this.pending) {
        if (rescued.includes(p)) continue
        try {
          ;({ op: p.op, over: jump } = transformPast(p.op, jump))
        } catch {
          // it stays as it was; the root decides
        }
        p.sent = false
      }
    }
    if (this.nextClientSeq <= mine) this.nextClientSeq = mine + 1
    this.catchUpAt = 0
    this.#becomeReady()
    this.#rebuildVisible()
    this.#sendHeld()
    this.flush()
    this.events.emit('change', this.visible, undefined, [])
    this.events.emit('presence', this.presence)
    this.advanced()
  }

  /** Our own sequenced changes in the log beyond what the root has, as pending changes again. */
  #ownBeyond(rootHas: number): PendingFragment[] {
    const pendingSeqs = new Set(this.pending.map((p) => p.fragment.clientSeq))
    const out: PendingFragment[] = []
    for (const e of this.log.entriesAfter(0)) {
      if (e.origin !== this.io.self || e.clientSeq <= rootHas || pendingSeqs.has(e.clientSeq)) continue
      const body = decodeFragmentBody(decodeMessage(e.envelope, Infinity).payload)
      if (body.patches !== undefined) continue // from before operations: its position is unknown here
      out.push(pendingFragment(this.doc, this.io.self, e.clientSeq, body.op))
    }
    return out
  }

  #becomeReady(): void {
    if (this.ready) return
    this.ready = true
    this.events.emit('ready')
    this.checkStatus()
  }

  /** The snapshot this replica can serve: its confirmed state, never its pending changes. */
  snapshotMessage(): Uint8Array {
    const payload = SnapshotCodec.encode({
      state: encodeJson(this.confirmed),
      clientSeqs: [...this.clientSeqs].map(([origin, clientSeq]) => ({ origin: endpointIdToBytes(origin), clientSeq })),
      presence: [...this.presence].map(([origin, value]) => ({ origin: endpointIdToBytes(origin), value: encodeJson(value) })),
      history: this.log.chainAt(this.seq) ?? 0,
    })
    return encodeMessage({ kind: Kind.SNAPSHOT, origin: this.io.self, doc: this.doc, seq: this.seq, epoch: this.io.epoch(), payload })
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
    if (value === undefined || value === null) {
      if (!this.presence.delete(origin)) return
    } else {
      this.presence.set(origin, value)
    }
    this.#presenceChanged()
  }

  #presenceQueued = false

  /**
   * Listeners hear presence once per tick, however many values changed in it: with a thousand
   * people moving, a page renders once per batch of moves, not once per move.
   */
  #presenceChanged(): void {
    if (this.#presenceQueued) return
    this.#presenceQueued = true
    this.io.defer(() => {
      this.#presenceQueued = false
      this.events.emit('presence', this.presence)
    })
  }

  /**
   * Our own presence outlives a snapshot. One that lacks it, or holds an older value, comes
   * from a parent that dropped us (silent too long, or a failover) and cleared our value when
   * we left: we send it again, or a person whose pointer stays still is gone for everyone
   * until it moves.
   */
  #keepOwnPresence(own: unknown): void {
    const theirs = this.presence.get(this.io.self)
    this.presence.set(this.io.self, own)
    if (this.io.isRoot() || (theirs !== undefined && JSON.stringify(theirs) === JSON.stringify(own))) return
    this.io.sendUp(this.presenceMessage(this.io.self, own))
  }

  presenceMessage(origin: EndpointId, value: unknown): Uint8Array {
    const payload = value === undefined || value === null ? new Uint8Array(0) : encodeJson(value)
    return encodeMessage({ kind: Kind.PRESENCE, origin, sender: this.io.self, doc: this.doc, epoch: this.io.epoch(), payload })
  }

  /** Rejects every pending change: the document is closing or the endpoint is going away. */
  abandon(reason: string): void {
    // What the leaf kept stays as it was: its pending changes are sent on the next open.
    this.persister?.stop(true)
    this.persister = undefined
    for (const p of [...this.#awaitingVerdict.values(), ...this.pending.splice(0)]) p.reject(new ChangeRejectedError(this.doc, p.fragment.clientSeq, reason))
    this.#awaitingVerdict.clear()
  }
}
