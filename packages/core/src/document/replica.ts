import type { Patch } from 'immer'
import { ChangeRejectedError, MessageTooLargeError } from '../errors.js'
import { endpointIdFromBytes, endpointIdToBytes, type DocId, type EndpointId } from '../ids.js'
import { TypedEmitter } from '../events.js'
import { decodeMessage, encodeMessage, type Message } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import { decodeJson, encodeJson } from '../protocol/json.js'
import { decodePatches, encodePatches } from '../protocol/patches.js'
import { BatchCodec, OpenCodec, SnapshotCodec, type Snapshot } from '../protocol/payloads.js'
import { applyBatch } from './apply.js'
import { DocLog } from './doc-log.js'
import { PathSet } from './path-set.js'
import { pendingFragment, remoteFragment, type DocumentFragment, type PendingFragment } from './fragment.js'
import type { ReplicaIO } from './replica-io.js'
import type { StoredDocument } from '../storage.js'
import { Sequencer } from './sequencer.js'

interface Sequenced {
  seq: number
  origin: EndpointId
  clientSeq: number
  epoch: number
  patches: Patch[]
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
}

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
  /** Since when a heartbeat has shown the parent ahead of this replica (0 = not behind). */
  behindSince = 0
  /** When the last OPEN went up, and the initial state it offers (repeated until served). */
  openedAt = 0
  openInit: { hasInitial: boolean; initial: Uint8Array } = { hasInitial: false, initial: new Uint8Array(0) }
  /** True while an OPEN is unanswered: only then may a snapshot move this replica back. */
  expectSnapshot = false
  /** True from an OPEN until its answer (snapshot or catch-up) arrives. */
  awaitingServe = false
  readonly #incoming = new Map<number, Sequenced>()
  /** False once an acknowledgement in the current run was not at the head of pending. */
  #headAcksOnly = true
  #flushScheduled = false

  constructor(
    readonly doc: DocId,
    readonly io: ReplicaIO,
    logLimit: number,
    readonly maxMessageBytes: number,
    logBytes = Infinity,
  ) {
    this.log = new DocLog(logLimit, logBytes)
  }

  /** The root creates the document, seeded with `initial`. */
  seed(initial: unknown): void {
    this.confirmed = this.visible = initial
    this.seq = 0
    this.#becomeReady()
  }

  becomeSequencer(): void {
    this.sequencer ??= new Sequencer(this)
  }

  // ---- local changes -------------------------------------------------------------------

  /** Records a local change already applied to `newVisible`, and sends or sequences it. */
  localChange(newVisible: unknown, patches: Patch[], inverse: Patch[]): DocumentFragment {
    const payload = encodePatches(patches)
    // Envelope overhead is well under 1 KB; refuse before anything is applied.
    if (payload.byteLength + 1024 > this.maxMessageBytes) throw new MessageTooLargeError(payload.byteLength, this.maxMessageBytes)
    const clientSeq = this.nextClientSeq++
    const pending = pendingFragment(this.doc, this.io.self, clientSeq, patches, inverse, payload)
    this.visible = newVisible
    if (this.sequencer?.canSequenceLocally && this.pending.length === 0) {
      this.sequencer.sequenceLocal(pending, newVisible)
    } else {
      this.pending.push(pending)
      this.#sendPending(pending)
    }
    this.events.emit('change', this.visible, pending.fragment, [pending.fragment])
    return pending.fragment
  }

  #sendPending(p: PendingFragment): void {
    p.lastSentAt = Date.now()
    this.io.sendUp(
      encodeMessage({ kind: Kind.FRAGMENT, origin: this.io.self, doc: this.doc, clientSeq: p.fragment.clientSeq, epoch: this.io.epoch(), payload: p.payload }),
    )
  }

  /** Resends pending fragments older than `olderThanMs` (or all, for a re-join). */
  resendPending(olderThanMs: number, fromClientSeq = 0): number {
    const now = Date.now()
    let n = 0
    for (const p of this.pending) {
      if (p.fragment.clientSeq < fromClientSeq) continue
      if (now - p.lastSentAt >= olderThanMs) {
        this.#sendPending(p)
        n++
      }
    }
    return n
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
    if (m.seq <= this.seq || this.#incoming.has(m.seq)) {
      this.io.stats.duplicates++
      return
    }
    this.#incoming.set(m.seq, { seq: m.seq, origin: m.origin, clientSeq: m.clientSeq, epoch: m.epoch, patches: decodePatches(m.payload), envelope: m.raw })
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
   * fragments after it, applied in one pass; the log and dedupe table are rebuilt from them.
   */
  restore(stored: StoredDocument): void {
    let state: unknown = {}
    if (stored.snapshot) {
      state = decodeJson(stored.snapshot.state, 'stored snapshot')
      for (const [origin, clientSeq] of stored.snapshot.clientSeqs) this.clientSeqs.set(origin, clientSeq)
    }
    let seq = stored.snapshot?.seq ?? 0
    const patches: Patch[][] = []
    for (const f of stored.fragments) {
      const m = decodeMessage(f.envelope, Infinity)
      patches.push(decodePatches(m.payload))
      this.clientSeqs.set(f.origin, Math.max(f.clientSeq, this.clientSeqs.get(f.origin) ?? 0))
      this.log.append({ seq: f.seq, origin: f.origin, clientSeq: f.clientSeq, epoch: m.epoch, envelope: f.envelope })
      seq = f.seq
    }
    const { state: restored, failed } = applyBatch(state, patches)
    if (failed.length > 0) throw new Error(`stored fragment ${stored.fragments[failed[0]!]!.seq} of "${this.doc}" does not apply to its snapshot`)
    this.confirmed = this.visible = restored
    this.seq = seq
    this.snapshotSeq = stored.snapshot?.seq ?? 0
    this.#becomeReady()
  }

  /** Forgets fragments staged from a previous parent (after a failover). */
  resetStaged(): void {
    this.#incoming.clear()
  }

  get hasGap(): boolean {
    return this.#incoming.size > 0
  }

  #applyRun(run: Sequenced[]): void {
    const { state, failed } = applyBatch(this.confirmed, run.map((s) => s.patches))
    if (failed.length > 0) {
      // A sequenced fragment the root applied does not apply here: this replica diverged.
      // Never guess: drop to the last good state and resync from a snapshot.
      this.io.logger.error({ doc: this.doc, seq: run[failed[0]!]!.seq }, 'a sequenced fragment did not apply; resyncing from a snapshot')
      this.ready = false
      this.#incoming.clear()
      this.requestSnapshot()
      return
    }
    // Pending paths as they were before this run (acknowledged ones included): if the
    // remote patches touch none of them, they commute and need no full rebase.
    const pendingPaths = this.pending.length > 0 ? new PathSet(this.pending.map((p) => p.fragment.patches)) : undefined
    const visibleBefore = this.visible
    this.confirmed = state
    this.seq = run[run.length - 1]!.seq
    this.io.stats.applied += run.length
    const foreign: DocumentFragment[] = []
    let rebase = false
    for (const s of run) {
      this.clientSeqs.set(s.origin, Math.max(s.clientSeq, this.clientSeqs.get(s.origin) ?? 0))
      this.log.append({ seq: s.seq, origin: s.origin, clientSeq: s.clientSeq, epoch: s.epoch, envelope: s.envelope })
      if (s.origin === this.io.self) {
        if (!this.#acknowledge(s.clientSeq, s.seq)) {
          rebase = true
          this.#headAcksOnly = false
        }
      } else {
        foreign.push(remoteFragment(this.doc, s.origin, s.clientSeq, s.seq, s.patches))
        rebase = true
      }
    }
    this.io.publishFragments(this.doc, run.map((s) => s.envelope))
    if (rebase) {
      const foreignPatches = foreign.map((f) => f.patches)
      const commute = pendingPaths !== undefined && this.#headAcksOnly && foreignPatches.every((p) => !pendingPaths.overlaps(p))
      if (this.pending.length === 0) this.visible = this.confirmed
      else if (commute) {
        const { state: onTop, failed: bad } = applyBatch(visibleBefore, foreignPatches)
        if (bad.length === 0) this.visible = onTop
        else this.#rebase()
      } else this.#rebase()
    }
    this.#headAcksOnly = true
    if (foreign.length > 0) this.events.emit('change', this.visible, foreign[foreign.length - 1], foreign)
  }

  /** The root sequenced one of its own pending changes (after a promotion). */
  acknowledgeOwn(clientSeq: number, seq: number): void {
    if (!this.#acknowledge(clientSeq, seq)) this.#rebase()
  }

  /** Moves a pending fragment into the confirmed state. True if it was the head (no rebase needed). */
  #acknowledge(clientSeq: number, seq: number): boolean {
    const i = this.pending.findIndex((p) => p.fragment.clientSeq === clientSeq)
    if (i < 0) {
      this.io.stats.duplicates++
      return true
    }
    const [p] = this.pending.splice(i, 1)
    p!.resolve(seq)
    return i === 0
  }

  /** visible = confirmed + pending; a pending fragment that no longer applies waits for its rejection. */
  #rebase(): void {
    this.visible = this.pending.length === 0 ? this.confirmed : applyBatch(this.confirmed, this.pending.map((p) => p.fragment.patches)).state
  }

  // ---- targeted replies ----------------------------------------------------------------

  /** The root's answer to a resent duplicate: it was sequenced as `seq` (0 = long ago). */
  acknowledged(clientSeq: number, seq: number): void {
    const i = this.pending.findIndex((p) => p.fragment.clientSeq === clientSeq)
    if (i < 0) return
    // Its echo may still be on its way (or was missed): if seq is beyond ours, wait for it.
    if (seq > this.seq) return
    const [p] = this.pending.splice(i, 1)
    p!.resolve(seq)
    this.#rebase()
  }

  rejected(clientSeq: number, reason: string): void {
    const i = this.pending.findIndex((p) => p.fragment.clientSeq === clientSeq)
    if (i < 0) return
    const [p] = this.pending.splice(i, 1)
    const error = new ChangeRejectedError(this.doc, clientSeq, reason)
    p!.reject(error)
    this.#rebase()
    this.events.emit('rejected', error, p!.fragment)
    this.events.emit('change', this.visible, undefined, [])
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
   * Applies a snapshot at `seq`: pending changes it already contains are acknowledged. A
   * snapshot behind this replica is only taken when one was asked for; then this replica's
   * history diverged from the root's (a failover lost fragments, or this endpoint was a stale
   * root): its own changes the root lacks are kept, as pending changes to be sequenced again.
   */
  applySnapshot(seq: number, snapshot: Snapshot): void {
    if (this.ready && seq <= this.seq && !this.expectSnapshot) return
    this.expectSnapshot = false
    const clientSeqs = new Map<EndpointId, number>()
    for (const { origin, clientSeq } of snapshot.clientSeqs) clientSeqs.set(endpointIdFromBytes(origin), clientSeq)
    const mine = clientSeqs.get(this.io.self) ?? 0
    const rescued = this.ready ? this.#ownBeyond(mine) : []
    this.confirmed = decodeJson(snapshot.state, 'snapshot state')
    this.seq = seq
    this.clientSeqs.clear()
    for (const [origin, clientSeq] of clientSeqs) this.clientSeqs.set(origin, clientSeq)
    this.presence.clear()
    for (const { origin, value } of snapshot.presence) this.presence.set(endpointIdFromBytes(origin), decodeJson(value, 'presence'))
    this.log.clear()
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const p = this.pending[i]!
      if (p.fragment.clientSeq <= mine) {
        this.pending.splice(i, 1)
        p.resolve(seq)
      }
    }
    if (rescued.length > 0) {
      this.io.logger.warn({ doc: this.doc, changes: rescued.length }, 'the root lacks some of our sequenced changes; resending them')
      this.pending.unshift(...rescued)
      for (const p of rescued) this.#sendPending(p)
    }
    if (this.nextClientSeq <= mine) this.nextClientSeq = mine + 1
    this.#rebase()
    this.catchUpAt = 0
    this.#becomeReady()
    this.flush()
    this.events.emit('change', this.visible, undefined, [])
    this.events.emit('presence', this.presence)
  }

  /** Our own sequenced changes in the log beyond what the root has, as pending changes again. */
  #ownBeyond(rootHas: number): PendingFragment[] {
    const pendingSeqs = new Set(this.pending.map((p) => p.fragment.clientSeq))
    return this.log
      .entriesAfter(0)
      .filter((e) => e.origin === this.io.self && e.clientSeq > rootHas && !pendingSeqs.has(e.clientSeq))
      .map((e) => {
        const m = decodeMessage(e.envelope, Infinity)
        return pendingFragment(this.doc, this.io.self, e.clientSeq, decodePatches(m.payload), [], m.payload)
      })
  }

  #becomeReady(): void {
    if (this.ready) return
    this.ready = true
    this.events.emit('ready')
  }

  /** The snapshot this replica can serve: its confirmed state, never its pending changes. */
  snapshotMessage(): Uint8Array {
    const payload = SnapshotCodec.encode({
      state: encodeJson(this.confirmed),
      clientSeqs: [...this.clientSeqs].map(([origin, clientSeq]) => ({ origin: endpointIdToBytes(origin), clientSeq })),
      presence: [...this.presence].map(([origin, value]) => ({ origin: endpointIdToBytes(origin), value: encodeJson(value) })),
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
    this.events.emit('presence', this.presence)
  }

  presenceMessage(origin: EndpointId, value: unknown): Uint8Array {
    const payload = value === undefined || value === null ? new Uint8Array(0) : encodeJson(value)
    return encodeMessage({ kind: Kind.PRESENCE, origin, sender: this.io.self, doc: this.doc, epoch: this.io.epoch(), payload })
  }

  /** Rejects every pending change: the document is closing or the endpoint is going away. */
  abandon(reason: string): void {
    for (const p of this.pending.splice(0)) p.reject(new ChangeRejectedError(this.doc, p.fragment.clientSeq, reason))
  }
}
