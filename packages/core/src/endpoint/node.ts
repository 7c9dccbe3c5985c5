import { BadFrameError, ClosedError, JoinRefusedError, JoinTimeoutError } from '../errors.js'
import { TypedEmitter } from '../events.js'
import { endpointIdToBytes, newEndpointId, type DocId, type EndpointId } from '../ids.js'
import type { Logger } from '../logger.js'
import { Replica } from '../document/replica.js'
import type { ReplicaIO } from '../document/replica-io.js'
import { decodeMessage, encodeMessage, type Message } from '../protocol/codec.js'
import { Kind, kindName, peekKind } from '../protocol/kinds.js'
import { BatchCodec, HelloCodec, OpenCodec, type AddressInfo } from '../protocol/payloads.js'
import { docTopic, endpointTopic } from '../protocol/topics.js'
import { ChannelListener } from '../runtime/channel-listener.js'
import { HandlerPool } from '../runtime/handler-pool.js'
import { emptyStats, type EndpointStats } from '../runtime/stats.js'
import { record } from '../runtime/histogram.js'
import type { PubChannel, PullChannel } from '../transport.js'
import type { MessageHandler } from './app-messages.js'
import { handleFromChild } from './child-handlers.js'
import { onHeartbeatTick } from './heartbeat.js'
import type { EndpointAddresses, ResolvedOptions } from './options.js'
import { ParentLink } from './parent-link.js'
import { maybeSnapshot } from './snapshots.js'
import { encodeJson } from '../protocol/json.js'
import { handleFromParent } from './parent-handlers.js'
import { Children, type Peer } from './roster.js'

/** An endpoint's place in the tree: `host` (no parent: the root), `relay` (a parent and children), `client` (a parent, no children). */
export type Role = 'host' | 'relay' | 'client'

/** Events of an {@link Endpoint} and their listener arguments; subscribe with `endpoint.on`. */
export type EndpointEvents = {
  /** The endpoint's place in the tree changed. */
  role: [role: Role]
  /** The roster this endpoint sees changed: its children if it has any, else its siblings. */
  peers: [peers: Peer[]]
  /** The parent has been silent for peerTimeoutMs; a failover starts. */
  'parent-lost': []
  /** Connected to the tree again after 'parent-lost': a parent answers (the old one or a successor), or this endpoint became the root. */
  'parent-back': []
  /** Something went wrong that the application may want to show (refusals, access denied). */
  error: [error: Error]
  /** The endpoint closed; no events follow. */
  closed: []
}

export interface Work {
  message: Message
  from: 'child' | 'parent' | 'self'
  topic: string
  /** For messages from a parent: the link they came on (stale after a failover). */
  link?: ParentLink
}

/**
 * The machinery of one endpoint (the public face is `Endpoint`): its channels, its parent
 * link and children, its document replicas and the handler pool everything flows through.
 */
export class Node {
  readonly id: EndpointId
  readonly events = new TypedEmitter<EndpointEvents>()
  readonly stats: EndpointStats = emptyStats()
  readonly children = new Children()
  readonly replicas = new Map<DocId, Replica>()
  readonly appHandlers = new Map<string, MessageHandler>()
  readonly pool: HandlerPool<Work>
  readonly logger: Logger
  readonly io: ReplicaIO
  epoch = 1
  inbound: PullChannel | undefined
  outbound: PubChannel | undefined
  parent: ParentLink | undefined
  parentLost = false
  /** The roster of the parent's level (this endpoint and its siblings). */
  siblings: Peer[] = []
  /**
   * The level's roster from before the last failover, and the parents that died: a successor
   * that dies during recovery must not leave survivors with only its own partial roster.
   */
  previousSiblings: Peer[] = []
  readonly deadParents = new Set<EndpointId>()
  closed = false
  readonly #listeners: ChannelListener[] = []
  readonly #watchedOrigins = new Set<EndpointId>()
  #role: Role = 'host'
  #timer: ReturnType<typeof setInterval> | undefined
  #deferred: Array<() => void> = []
  #lastDeferredRun = 0
  #welcome: { resolve: () => void; reject: (e: Error) => void } | undefined
  #joinedBefore = false
  #root = false
  /** Set while a failover is running, so the tick does not start another. */
  failingOver = false
  /** While the root recovers after a promotion, until this time (ms). */
  recoveringUntil = 0
  /** Survivors expected to re-join during recovery. */
  expectedSurvivors = new Set<EndpointId>()
  /** Children seen last (a root that loses them all probes them for a newer epoch). */
  lastChildren: Peer[] = []
  /** Children dropped for silence, until when they are worth probing for a newer root. */
  readonly lostChildren = new Map<EndpointId, number>()
  /** A roster publication is scheduled for this tick. */
  rosterQueued = false
  /** Version of the parent's roster held in `siblings` (-1: none yet). */
  siblingsVersion = -1
  /** Heartbeat ticks so far. */
  ticks = 0
  /** When this root last probed its old children for a newer epoch. */
  lastProbeAt = 0
  /** Survivor fetches (`child/doc`) a recovering root still waits for. */
  readonly pendingFetches = new Set<string>()
  /** Opens a recovering root answers once recovery is over. */
  readonly deferredOpens = new Map<string, () => void>()

  constructor(readonly opts: ResolvedOptions) {
    this.id = opts.id ?? newEndpointId()
    this.logger = opts.logger.child({ endpoint: this.id })
    this.pool = new HandlerPool<Work>({
      concurrency: opts.concurrency,
      queueLimit: opts.queueLimit,
      run: (work) => this.#dispatch(work),
      onError: (error, work) => {
        this.stats.handlerErrors++
        this.logger.warn({ err: error, kind: kindName(work.message.kind), doc: work.message.doc }, 'a message handler failed')
      },
    })
    const node = this
    this.io = {
      self: this.id,
      logger: this.logger,
      stats: this.stats,
      epoch: () => node.epoch,
      isRoot: () => node.isRoot,
      sendUp: (bytes) => node.sendUp(bytes),
      publishFragments: (doc, envelopes) => node.publishFragments(doc, envelopes),
      publishOnDoc: (doc, bytes) => node.publish(docTopic(doc), bytes),
      sendTo: (endpoint, bytes) => node.sendTo(endpoint, bytes),
      defer: (fn) => node.defer(fn),
      get storage() {
        return node.isRoot ? node.opts.storage : undefined
      },
      maybeSnapshot: (replica) => maybeSnapshot(node, replica),
    }
  }

  /** True at a root: started without a parent, or promoted. False in the limbo of a failover. */
  get isRoot(): boolean {
    return this.#root
  }

  /** Between losing a parent and finding a new place (or becoming the root). */
  get inLimbo(): boolean {
    return !this.#root && this.parent === undefined
  }

  /** Makes this endpoint the root (a promotion). */
  becomeRootNode(): void {
    this.#root = true
  }

  get role(): Role {
    return this.#role
  }

  get addresses(): EndpointAddresses | undefined {
    return this.inbound && this.outbound ? { inbound: this.inbound.address, outbound: this.outbound.address } : undefined
  }

  /** Ancestor chain as seen from below: this endpoint first, then its own ancestors. */
  ancestorChain(): AddressInfo[] {
    const self = this.addresses
    const me: AddressInfo[] = self ? [{ id: endpointIdToBytes(this.id), inbound: self.inbound, outbound: self.outbound }] : []
    return [...me, ...(this.parent?.ancestors ?? [])]
  }

  updateRole(): void {
    if (this.inLimbo) return
    const role: Role = this.#root ? 'host' : this.children.size > 0 ? 'relay' : 'client'
    if (role === this.#role) return
    this.#role = role
    this.logger.info({ role }, 'role changed')
    this.events.emit('role', role)
  }

  // ---- start ---------------------------------------------------------------------------

  /** A root from the start (no `join`). */
  startAsRoot(): void {
    this.#root = true
  }

  async bind(addresses: EndpointAddresses): Promise<void> {
    const t = this.opts.transport
    this.inbound = await t.pull(addresses.inbound, { maxMessageBytes: this.opts.maxMessageBytes })
    this.outbound = await t.pub(addresses.outbound, { maxMessageBytes: this.opts.maxMessageBytes })
    this.#listen(this.inbound, 'inbound', 1, 'child')
  }

  /**
   * Connects to a parent and waits for its welcome. On failure the half-made link is closed
   * and this endpoint has no parent again, so a caller can try the next address.
   */
  async join(addresses: EndpointAddresses, timeoutMs = this.opts.joinTimeoutMs): Promise<void> {
    const transport = this.opts.joinTransport ?? this.opts.transport
    const link = await ParentLink.connect(transport, addresses, this.id, this.opts.maxMessageBytes, this.logger, () => this.stats.queueDrops++)
    this.parent = link
    this.#root = false
    this.siblingsVersion = -1
    this.#listen(link.sub, 'parent', 2, 'parent', link)
    const welcomed = new Promise<void>((resolve, reject) => (this.#welcome = { resolve, reject }))
    const started = Date.now()
    const retry = Math.max(50, Math.min(500, this.opts.heartbeatMs))
    const hello = setInterval(() => this.sendHello(), retry)
    this.sendHello()
    const timeout = setTimeout(() => this.#welcome?.reject(new JoinTimeoutError(addresses.inbound, timeoutMs)), timeoutMs)
    try {
      await welcomed
      this.logger.info({ parent: link.parentId, ms: Date.now() - started }, 'joined')
      this.updateRole()
    } catch (error) {
      if (this.parent === link) this.parent = undefined
      await link.close()
      throw error
    } finally {
      clearInterval(hello)
      clearTimeout(timeout)
      this.#welcome = undefined
    }
  }

  /** Drops the link to a parent presumed dead, without a goodbye. */
  async detachParent(): Promise<void> {
    const link = this.parent
    if (!link) return
    this.parent = undefined
    await link.close()
  }

  sendHello(): void {
    if (!this.parent) return
    const a = this.addresses
    const payload = HelloCodec.encode({
      token: this.opts.token,
      inbound: a?.inbound ?? '',
      outbound: a?.outbound ?? '',
      priority: this.opts.priority,
      docs: [...this.replicas.values()].map((r) => ({ doc: r.doc, seq: r.seq })),
      ancestry: [],
    })
    this.parent.send(encodeMessage({ kind: Kind.HELLO, origin: this.id, epoch: this.epoch, payload }))
    this.countSent(Kind.HELLO)
  }

  welcomed(parentId: EndpointId): void {
    const link = this.parent
    if (!link) return
    if (link.welcomed && link.parentId === parentId) return
    // Documents already open mean a re-join (or a stale root joining its successor).
    const rejoin = this.#joinedBefore || this.replicas.size > 0
    this.#joinedBefore = true
    link.parentId = parentId
    link.welcomed = true
    link.lastHeard = Date.now()
    this.#welcome?.resolve()
    if (!rejoin) return
    // A re-join (the parent forgot us, or a new parent after a failover): reopen what we
    // carry, catching up from our seq, and resend what is pending.
    this.logger.info({ parent: parentId }, 'joined again')
    for (const r of this.replicas.values()) {
      r.sequencer = undefined
      r.resetStaged()
      link.subscribe(docTopic(r.doc))
      this.requestOpen(r)
      this.stats.resent += r.resendPending(0)
    }
  }

  refused(reason: string): void {
    const error = new JoinRefusedError(this.parent?.addresses.inbound ?? '?', reason)
    if (this.#welcome) this.#welcome.reject(error)
    else this.events.emit('error', error)
  }

  startTimers(): void {
    this.#timer = setInterval(() => onHeartbeatTick(this), this.opts.heartbeatMs)
    // Timers must not keep a process alive on their own: close() is the way to stop.
    ;(this.#timer as { unref?: () => void }).unref?.()
  }

  #listen(channel: PullChannel | ParentLink['sub'], name: string, frames: 1 | 2, from: Work['from'], link?: ParentLink): void {
    const listener = new ChannelListener(channel, {
      name,
      frames,
      maxMessageBytes: this.opts.maxMessageBytes,
      logger: this.logger,
      onBadFrame: (error: BadFrameError) => {
        this.stats.badFrames++
        this.logger.warn({ reason: error.reason, channel: name }, 'dropped a bad frame')
      },
      deliver: (message, topic) => {
        this.stats.received++
        const k = kindName(message.kind)
        this.stats.receivedByKind[k] = (this.stats.receivedByKind[k] ?? 0) + 1
        return this.pool.submit(message.doc, { message, from, topic, link })
      },
    })
    this.#listeners.push(listener)
    listener.start()
  }

  #dispatch(work: Work): void | Promise<void> {
    if (this.closed) return
    if (work.link && work.link !== this.parent) return void this.stats.dropped++
    const started = performance.now()
    const result = work.from === 'parent' ? handleFromParent(this, work) : handleFromChild(this, work)
    if (!result) {
      record(this.stats.handlerLatency, performance.now() - started)
      return
    }
    return result.finally(() => record(this.stats.handlerLatency, performance.now() - started))
  }

  // ---- sending -------------------------------------------------------------------------

  /** Counts one sent message in `sent` and `sentByKind`; every send path calls it exactly once. */
  countSent(kind: Kind | number): void {
    this.stats.sent++
    const k = kindName(kind)
    this.stats.sentByKind[k] = (this.stats.sentByKind[k] ?? 0) + 1
  }

  publish(topic: string, bytes: Uint8Array): void {
    const out = this.outbound
    if (!out || this.closed) return
    this.countSent(peekKind(bytes))
    out.send(topic, bytes).catch((error: unknown) => {
      if (!this.closed) this.logger.warn({ err: error, topic }, 'publishing failed')
    })
  }

  /** Towards the root; at the root, straight into its own handler pool. */
  sendUp(bytes: Uint8Array): void {
    if (this.closed) return
    if (this.parent) {
      this.countSent(peekKind(bytes))
      this.parent.send(bytes)
      return
    }
    if (!this.#root) {
      // In the limbo of a failover: nowhere to send. Changes stay pending and are resent.
      this.stats.queueDrops++
      return
    }
    const message = decodeMessage(bytes, Infinity)
    this.pool.push(message.doc, { message, from: 'self', topic: '' })
  }

  sendTo(endpoint: EndpointId, bytes: Uint8Array): void {
    if (endpoint === this.id) {
      const message = decodeMessage(bytes, Infinity)
      this.pool.push(message.doc, { message, from: 'parent', topic: endpointTopic(this.id) })
      return
    }
    this.publish(endpointTopic(endpoint), bytes)
  }

  publishFragments(doc: DocId, envelopes: Uint8Array[]): void {
    if (!this.outbound || this.children.size === 0 || envelopes.length === 0) return
    if (envelopes.length === 1) {
      this.publish(docTopic(doc), envelopes[0]!)
      return
    }
    const payload = BatchCodec.encode({ envelopes })
    this.publish(docTopic(doc), encodeMessage({ kind: Kind.FRAGMENTS, origin: this.id, doc, epoch: this.epoch, payload }))
  }

  /** Subscribes upstream to replies for a descendant whose messages this relay forwards. */
  watchOrigin(origin: EndpointId): void {
    if (!this.parent || origin === this.id || this.#watchedOrigins.has(origin)) return
    this.#watchedOrigins.add(origin)
    this.parent.subscribe(endpointTopic(origin))
  }

  /**
   * Runs deferred work once the current I/O has been read: one apply per tick. Adaptive:
   * when traffic is sparse (nothing ran in the last millisecond) it runs on a microtask, so a
   * lone change is not held for a turn of the event loop; when it is dense it waits for the
   * event loop's check phase, so everything read in this turn is applied in one pass.
   */
  defer(fn: () => void): void {
    this.#deferred.push(fn)
    if (this.#deferred.length !== 1) return
    if (performance.now() - this.#lastDeferredRun < 1) schedule(() => this.#runDeferred())
    else queueMicrotask(() => this.#runDeferred())
  }

  #runDeferred(): void {
    this.#lastDeferredRun = performance.now()
    const fns = this.#deferred
    this.#deferred = []
    for (const fn of fns) {
      try {
        fn()
      } catch (error) {
        this.stats.handlerErrors++
        this.logger.error({ err: error }, 'deferred work failed')
      }
    }
  }

  // ---- documents -----------------------------------------------------------------------

  /** Creates the replica (root: seeded) or asks the parent for it. */
  replicaFor(doc: DocId): Replica | undefined {
    return this.replicas.get(doc)
  }

  createReplica(doc: DocId): Replica {
    const replica = new Replica(doc, this.io, this.opts.logLimit, this.opts.maxMessageBytes)
    this.replicas.set(doc, replica)
    if (this.isRoot) replica.becomeSequencer()
    else this.parent?.subscribe(docTopic(doc))
    return replica
  }

  /**
   * At the root: the document's replica, restored from storage when it was stored before,
   * otherwise created from `initial` (and that seed stored, so a restart never re-seeds it).
   */
  async openAtRoot(doc: DocId, initial: unknown): Promise<Replica> {
    const existing = this.replicas.get(doc)
    if (existing) return existing
    const replica = this.createReplica(doc)
    const storage = this.opts.storage
    if (!storage) {
      replica.seed(initial)
      return replica
    }
    try {
      const stored = await storage.load(doc)
      if (stored) replica.restore(stored)
      else {
        await storage.writeSnapshot(doc, { seq: 0, state: encodeJson(initial), clientSeqs: [] })
        replica.seed(initial)
      }
    } catch (error) {
      this.replicas.delete(doc)
      this.logger.error({ err: error, doc }, 'loading a document from storage failed')
      replica.events.emit('refused', error as Error)
      throw error
    }
    return replica
  }

  /** Asks the parent for a document, from our seq (0: a snapshot). Repeated until served. */
  requestOpen(replica: Replica, init?: Replica['openInit']): void {
    replica.openedAt = Date.now()
    replica.awaitingServe = true
    if (init) replica.openInit = init
    replica.expectSnapshot = true
    const seq = replica.ready ? replica.seq : 0
    const lastEpoch = replica.log.at(seq)?.epoch ?? 0
    const payload = OpenCodec.encode({ ...replica.openInit, lastEpoch })
    this.sendUp(encodeMessage({ kind: Kind.OPEN, origin: this.id, doc: replica.doc, epoch: this.epoch, seq, payload }))
  }

  /** Drops a replica nobody here or below uses any more. */
  releaseReplica(replica: Replica): void {
    if (replica.localOpens > 0 || replica.children.size > 0 || this.isRoot) return
    this.replicas.delete(replica.doc)
    replica.abandon('the document was closed on this endpoint')
    this.parent?.unsubscribe(docTopic(replica.doc))
    this.sendUp(encodeMessage({ kind: Kind.CLOSE, origin: this.id, doc: replica.doc, epoch: this.epoch }))
  }

  assertOpen(what = 'Endpoint'): void {
    if (this.closed) throw new ClosedError(`${what} ${this.id}`)
  }

  // ---- close ---------------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.closed) return
    const steps: Array<[string, () => unknown]> = [
      ['say goodbye', () => this.parent && (this.countSent(Kind.LEAVE), this.parent.send(encodeMessage({ kind: Kind.LEAVE, origin: this.id, epoch: this.epoch })))],
      ['stop timers', () => clearInterval(this.#timer)],
      ['abandon pending changes', () => this.replicas.forEach((r) => r.abandon('the endpoint was closed'))],
    ]
    for (const [name, step] of steps) this.#guard(name, step)
    // Give the goodbye a moment to leave before the channel closes (a dead parent cannot hold us).
    await this.parent?.flush(100)
    this.closed = true
    this.#welcome?.reject(new ClosedError(`Endpoint ${this.id}`))
    // Let storage writes in flight finish, so what was acknowledged is durable on exit.
    await Promise.race([Promise.all([...this.replicas.values()].map((r) => r.sequencer?.idle())), new Promise((r) => setTimeout(r, 2_000))])
    this.pool.close()
    const closing: Array<Promise<unknown> | undefined> = [this.parent?.close(), this.inbound?.close(), this.outbound?.close()]
    const results = await Promise.allSettled(closing)
    for (const r of results) if (r.status === 'rejected') this.logger.warn({ err: r.reason }, 'closing a channel failed')
    await Promise.allSettled(this.#listeners.map((l) => l.done))
    this.events.emit('closed')
  }

  #guard(name: string, step: () => unknown): void {
    try {
      step()
    } catch (error) {
      this.logger.warn({ err: error, step: name }, 'a close step failed')
    }
  }
}

const schedule: (fn: () => void) => void =
  typeof setImmediate === 'function' ? (fn) => setImmediate(fn) : (fn) => setTimeout(fn, 0)
