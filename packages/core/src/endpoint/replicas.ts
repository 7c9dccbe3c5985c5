import type { Clock } from '../runtime/clock.js'
import { InvalidArgumentError, ZincError } from '../errors.js'
import { Replica } from '../document/replica.js'
import type { ReplicaIO } from '../document/replica-io.js'
import { endpointIdToBytes, type DocId, type EndpointId } from '../ids.js'
import type { Logger } from '../logger.js'
import { encodeMessage } from '../protocol/codec.js'
import { decodeJson, encodeJson } from '../protocol/json.js'
import { Kind } from '../protocol/kinds.js'
import { OpenCodec } from '../protocol/payloads.js'
import type { Storage } from '../storage.js'

/** What the replica set needs from its endpoint. */
export interface ReplicaPorts {
  readonly io: ReplicaIO
  readonly clock: Clock
  readonly logger: Logger
  readonly logLimit: number
  /** Bytes of sequenced fragments kept per document (next to `logLimit`). */
  readonly logBytes: number
  readonly maxMessageBytes: number
  readonly snapshotEvery: number
  readonly storage: Storage | undefined
  /** The onLoad hook: a document's state from the application's own database (undefined: none there). */
  readonly load: ((doc: DocId) => unknown) | undefined
  /** The coordinator's check before a document is loaded or created here (Coordinator.checkDocument). */
  readonly check: ((doc: DocId, opening: boolean) => Promise<void>) | undefined
  isRoot(): boolean
  epoch(): number
  sendUp(kind: number, bytes: Uint8Array): void
  subscribeDoc(doc: DocId): void
  unsubscribeDoc(doc: DocId): void
}

/**
 * The documents an endpoint carries: opening (seeded or restored at the root, asked of the
 * parent elsewhere), serving children (opens wait per document, so one slow document never
 * holds back another), releasing, and the root's snapshot policy.
 */
export class ReplicaSet {
  readonly #replicas = new Map<DocId, Replica>()
  /** Opens waiting for this endpoint to settle, per document, keyed by the opener. */
  readonly #waitingOpens = new Map<DocId, Map<EndpointId, () => void>>()
  /** Children whose next open of a document is answered with a snapshot, whatever they hold. */
  readonly #resync = new Map<DocId, Set<EndpointId>>()
  /** Replicas whose snapshot is being written (one write per document at a time). */
  readonly #writing = new Set<DocId>()
  /** Why the parent could not serve a document for now (ERR_UNAVAILABLE), for the opener's timeout error. */
  readonly #unavailable = new Map<DocId, string>()

  constructor(readonly ports: ReplicaPorts) {}

  get size(): number {
    return this.#replicas.size
  }

  get(doc: DocId): Replica | undefined {
    return this.#replicas.get(doc)
  }

  values(): IterableIterator<Replica> {
    return this.#replicas.values()
  }

  /** Head seq of every ready replica (with its history fingerprint and its head's epoch, for a HELLO). */
  heads(withHistory = false): Array<{ doc: DocId; seq: number; history?: number; epoch?: number }> {
    const ready = [...this.#replicas.values()].filter((r) => r.ready)
    if (!withHistory) return ready.map((r) => ({ doc: r.doc, seq: r.seq }))
    return ready.map((r) => ({ doc: r.doc, seq: r.seq, history: r.log.chainAt(r.seq) ?? 0, epoch: r.log.at(r.seq)?.epoch ?? 0 }))
  }

  create(doc: DocId): Replica {
    const p = this.ports
    const replica = new Replica(doc, p.io, p.logLimit, p.maxMessageBytes, p.logBytes)
    this.#replicas.set(doc, replica)
    if (p.isRoot()) replica.becomeSequencer()
    else p.subscribeDoc(doc)
    return replica
  }

  /**
   * At the root: the document's replica, restored from storage when it was stored before,
   * otherwise created from what the onLoad hook gives, or else from `initial` (and that seed
   * stored, so a restart never re-seeds it).
   */
  async openAtRoot(doc: DocId, initial: unknown, opening = true): Promise<Replica> {
    const held = this.#replicas.get(doc)
    if (held) return held
    if (this.ports.check) {
      // Its latest copy may be in a store this root cannot read: then it is neither loaded from
      // ours nor created anew (the error says where it is), see Coordinator.checkDocument.
      await this.ports.check(doc, opening)
      const existing = this.#replicas.get(doc)
      if (existing) return existing
      if (!this.ports.isRoot()) throw new ZincError('ERR_UNAVAILABLE', `this endpoint stopped being the root while it checked document "${doc}"; the open goes to the new root`)
    }
    const replica = this.create(doc)
    const { storage, load } = this.ports
    if (!storage && !load) {
      replica.seed(initial)
      return replica
    }
    try {
      const stored = await storage?.load(doc)
      if (stored) replica.restore(stored)
      else {
        const seed = (await load?.(doc)) ?? initial
        if (typeof seed !== 'object' || seed === null) throw new InvalidArgumentError(`onLoad gave ${typeof seed} for document "${doc}"; return an object or array, or undefined when there is none`)
        await storage?.writeSnapshot(doc, { seq: 0, state: encodeJson(seed), clientSeqs: [] })
        replica.seed(seed)
        if (storage) replica.storedUpTo = 0
      }
    } catch (error) {
      this.#replicas.delete(doc)
      this.ports.logger.error({ err: error, doc }, 'loading a document failed')
      replica.events.emit('refused', error as Error)
      throw error
    }
    return replica
  }

  /** Asks the parent for a document, from our seq (0: a snapshot). Repeated until served. */
  requestOpen(replica: Replica, init?: Replica['openInit']): void {
    // Our changes wait for a snapshot we asked of a parent that never answered (it died or was
    // replaced): a catch-up served now would leave them waiting for good (sharded chaos seed 1:
    // 27 changes pending to the end after a re-join). The snapshot is asked again instead.
    if (replica.ready && replica.awaitsResync) {
      if (init) replica.openInit = init
      return this.requestSnapshot(replica)
    }
    replica.openedAt = this.ports.clock.now()
    replica.awaitingServe = true
    if (init) replica.openInit = init
    replica.expectSnapshot = true
    const seq = replica.ready ? replica.seq : 0
    // What we hold at `seq`: the parent serves a snapshot instead of a catch-up if its history
    // differs there (another epoch, or — two roots of one epoch — another fragment).
    const last = replica.log.at(seq)
    const payload = OpenCodec.encode({
      ...replica.openInit,
      lastEpoch: last?.epoch ?? 0,
      lastOrigin: last ? endpointIdToBytes(last.origin) : new Uint8Array(0),
      lastClientSeq: last?.clientSeq ?? 0,
      lastHistory: replica.ready ? (replica.log.chainAt(seq) ?? 0) : 0,
    })
    this.ports.sendUp(Kind.OPEN, encodeMessage({ kind: Kind.OPEN, origin: this.ports.io.self, doc: replica.doc, epoch: this.ports.epoch(), seq, payload }))
  }

  /** Asks the parent for a full snapshot (our history is known to differ from the one above). */
  requestSnapshot(replica: Replica): void {
    replica.openedAt = this.ports.clock.now()
    replica.awaitingServe = true
    replica.expectSnapshot = true
    const payload = OpenCodec.encode({ ...replica.openInit, lastEpoch: 0 })
    this.ports.sendUp(Kind.OPEN, encodeMessage({ kind: Kind.OPEN, origin: this.ports.io.self, doc: replica.doc, epoch: this.ports.epoch(), seq: 0, payload }))
  }

  /** The parent could not serve `doc` for now (ERR_UNAVAILABLE, retried): kept for the opener's timeout error. */
  unavailable(doc: DocId, reason: string): void {
    if (this.#replicas.has(doc)) this.#unavailable.set(doc, reason)
  }

  /** The last reason the parent gave for not serving `doc` yet, if any. */
  unavailableReason(doc: DocId): string | undefined {
    return this.#unavailable.get(doc)
  }

  /** Drops a replica nobody here or below uses any more. */
  drop(replica: Replica): void {
    if (replica.localOpens > 0 || replica.children.size > 0 || this.ports.isRoot()) return
    this.#replicas.delete(replica.doc)
    this.#unavailable.delete(replica.doc)
    this.#waitingOpens.delete(replica.doc)
    replica.abandon('the document was closed on this endpoint')
    this.ports.unsubscribeDoc(replica.doc)
    this.ports.sendUp(Kind.CLOSE, encodeMessage({ kind: Kind.CLOSE, origin: this.ports.io.self, doc: replica.doc, epoch: this.ports.epoch() }))
  }

  /** The parent refused the document: forget it (its opener is told through the replica). */
  refused(doc: DocId, error: Error): void {
    const replica = this.#replicas.get(doc)
    if (!replica) return
    this.#replicas.delete(doc)
    this.#waitingOpens.delete(doc)
    this.#unavailable.delete(doc)
    this.ports.unsubscribeDoc(doc)
    replica.events.emit('refused', error)
  }

  /**
   * A promoted successor takes over: every replica sequences (paused until recovery ends).
   * One not ready yet is seeded with the state its opener offered, never with `{}`; those are
   * returned (blank), and recovery waits for a survivor's copy of them.
   */
  promote(): DocId[] {
    const blank: DocId[] = []
    for (const replica of this.#replicas.values()) {
      if (!replica.ready) {
        replica.seed(initialOf(replica))
        blank.push(replica.doc)
      }
      // The root serves; nothing above will answer an open still in flight.
      replica.awaitingServe = false
      replica.becomeSequencer()
      replica.sequencer!.pause()
    }
    return blank
  }

  /** Sequencing resumes after recovery; with storage, from a fresh snapshot of each document. */
  async resume(): Promise<number> {
    if (this.ports.storage) await Promise.all([...this.#replicas.values()].map((r) => this.writeSnapshot(r)))
    for (const replica of this.#replicas.values()) replica.sequencer?.resume()
    // Our own changes still pending from before the promotion are now sequenced here.
    let resent = 0
    for (const replica of this.#replicas.values()) resent += replica.resendPending(0)
    return resent
  }

  /** Holds sequencing (a woken root checks first whether the tree went on without it). */
  hold(): void {
    for (const replica of this.#replicas.values()) replica.sequencer?.pause()
  }

  /** Sequencing goes on after `hold`. */
  release(): void {
    for (const replica of this.#replicas.values()) replica.sequencer?.resume()
  }

  // ---- serving children ------------------------------------------------------------------

  /**
   * Serves `opener` now, or once this endpoint is settled (`settled` false) and the replica
   * has been served itself (it may be re-syncing under a new parent) and is ready.
   */
  serveWhenReady(replica: Replica, opener: EndpointId, settled: boolean, serve: () => void): void {
    if (!settled || replica.awaitingServe) {
      let waiting = this.#waitingOpens.get(replica.doc)
      if (!waiting) this.#waitingOpens.set(replica.doc, (waiting = new Map()))
      waiting.set(opener, serve)
    } else if (replica.ready) serve()
    else replica.events.once('ready', serve)
  }

  /** Answers the opens that waited, document by document (each once its replica is ready). */
  serveWaiting(): void {
    // Every tick of every endpoint calls this; nearly always nothing waits.
    if (this.#waitingOpens.size === 0) return
    for (const [doc, waiting] of this.#waitingOpens) {
      const replica = this.#replicas.get(doc)
      if (!replica) {
        this.#waitingOpens.delete(doc)
        continue
      }
      if (replica.awaitingServe) continue
      this.#waitingOpens.delete(doc)
      for (const serve of waiting.values()) {
        if (replica.ready) serve()
        else replica.events.once('ready', serve)
      }
    }
  }

  /** Our history of `replica` is being replaced: its children must take a snapshot too; `nudge` tells each. */
  resyncChildren(replica: Replica, nudge: (child: EndpointId) => void): void {
    const set = new Set(replica.children)
    this.#resync.set(replica.doc, set)
    for (const child of set) nudge(child)
  }

  /** Whether `child` must get a snapshot of `doc` (and from now on, not again). */
  mustResync(doc: DocId, child: EndpointId): boolean {
    const set = this.#resync.get(doc)
    if (!set?.delete(child)) return false
    if (set.size === 0) this.#resync.delete(doc)
    return true
  }

  get waitingOpens(): number {
    let n = 0
    for (const w of this.#waitingOpens.values()) n += w.size
    return n
  }

  // ---- snapshots -------------------------------------------------------------------------

  /**
   * The root's snapshot policy: after `snapshotEvery` fragments, store the confirmed state and
   * compact the stored log behind it, so a restart replays at most that many fragments.
   */
  maybeSnapshot(replica: Replica): void {
    if (!this.ports.storage || !this.ports.isRoot() || this.#writing.has(replica.doc)) return
    if (replica.seq - replica.snapshotSeq < this.ports.snapshotEvery) return
    void this.writeSnapshot(replica)
  }

  /**
   * Stores the replica's state now, as a snapshot; skipped while one is being written (the
   * sequencer stores one before its next batch anyway when the stored document is behind, see
   * Sequencer #storeAfter).
   */
  async writeSnapshot(replica: Replica): Promise<void> {
    const storage = this.ports.storage
    // Not ready: being loaded or seeded at the root right now (openAtRoot), with no state yet.
    // Its empty snapshot, stored after the seed, replaced the document (recovery ending while an
    // open's seed was still being written: a sharded root's first write of a document waits for
    // etcd, see @zinc/coordinator-etcd doc-records.ts).
    if (!storage || !replica.ready || this.#writing.has(replica.doc)) return
    this.#writing.add(replica.doc)
    const snapshot = replica.storedSnapshot()
    const seq = snapshot.seq
    try {
      await storage.writeSnapshot(replica.doc, snapshot)
      replica.snapshotSeq = seq
      replica.storedUpTo = Math.max(seq, replica.storedUpTo ?? 0)
      await storage.compact(replica.doc, seq)
    } catch (error) {
      this.ports.logger.error({ err: error, doc: replica.doc, seq }, 'writing a snapshot failed; the log keeps growing until one succeeds')
    } finally {
      this.#writing.delete(replica.doc)
    }
  }
}

/** The state a replica's opener offered (`initial`), or `{}` when it offered none. */
function initialOf(replica: Replica): unknown {
  const init = replica.openInit
  if (!init.hasInitial) return {}
  try {
    const value = decodeJson(init.initial, 'initial state')
    return typeof value === 'object' && value !== null ? value : {}
  } catch {
    return {}
  }
}
