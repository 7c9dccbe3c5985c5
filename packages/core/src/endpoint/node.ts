import { AbortError, BadFrameError, ClosedError, JoinRefusedError, JoinTimeoutError } from '../errors.js'
import { TypedEmitter } from '../events.js'
import { endpointIdToBytes, newEndpointId, type DocId, type EndpointId } from '../ids.js'
import type { Logger } from '../logger.js'
import type { ReplicaIO } from '../document/replica-io.js'
import { decodeMessage, encodeMessage, type Message } from '../protocol/codec.js'
import { Kind, kindName, peekKind } from '../protocol/kinds.js'
import { BatchCodec, HelloCodec, RefusalCodec, type AddressInfo } from '../protocol/payloads.js'
import { CONTROL_TOPIC, docTopic, endpointTopic } from '../protocol/topics.js'
import { ChannelListener } from '../runtime/channel-listener.js'
import { realClock, type Clock, type TimerHandle } from '../runtime/clock.js'
import { DeferQueue } from '../runtime/defer-queue.js'
import { HandlerPool } from '../runtime/handler-pool.js'
import { record } from '../runtime/histogram.js'
import { emptyStats, type EndpointStats, type RefusalReason } from '../runtime/stats.js'
import type { PeerIdentity, PubChannel, PullChannel } from '../transport.js'
import { Identities } from './identity.js'
import { DocumentSizes } from './document-size.js'
import { AppHandlers } from './app-handlers.js'
import { Children } from './children.js'
import { JoinGate } from './join-gate.js'
import { PresenceOut } from './presence-out.js'
import { Coordination } from './coordination.js'
import type { Coordinator } from './coordinator.js'
import type { EndpointEvents, NodeContext, Role, Work } from './context.js'
import { failover } from './failover.js'
import { Fencing } from './fencing.js'
import { handleFromChild } from './handlers/from-child.js'
import { clearPresence } from './handlers/child-presence.js'
import { handleFromParent, handleOwnAnswer } from './handlers/from-parent.js'
import type { EndpointAddresses, ResolvedOptions } from './options.js'
import { ParentLink } from './parent-link.js'
import { ReplicaSet } from './replicas.js'
import { HookRunner } from './hook-runner.js'
import { Succession } from './succession.js'
import { Ticker } from './tick.js'
import { AccessCache } from './access-cache.js'
import { Grants } from './grants.js'
import { TreeMemory } from './tree-memory.js'

export type { EndpointEvents, Role } from './context.js'

/**
 * Kinds about the tree itself. They run in their own lane of the handler pool, never behind
 * a document's or the application's messages, and are never held back by a full queue.
 */
const CONTROL: ReadonlySet<number> = new Set<number>([Kind.HELLO, Kind.WELCOME, Kind.HEARTBEAT, Kind.ROSTER, Kind.LEAVE])

/**
 * The machinery of one endpoint (the public face is `Endpoint`). It owns the parts and wires
 * them: the succession state machine (epoch, role, failover state), the child table, the
 * replica set, the parent link, fencing and the tick. The parts keep their state private;
 * handlers and procedures see them through `NodeContext`.
 */
export class Node implements NodeContext {
  readonly id: EndpointId
  /** Random per process: a restart under the same id is told apart by it. */
  readonly incarnation = Math.floor(Math.random() * 2 ** 52) + 1
  readonly events = new TypedEmitter<EndpointEvents>()
  readonly stats: EndpointStats = emptyStats()
  readonly clock: Clock
  readonly logger: Logger
  readonly succession: Succession
  readonly children: Children
  /** Which connection each child joined on, and whom each child speaks for. */
  readonly identities: Identities
  /** The root's estimate of each document's size, for `maxDocumentBytes`. */
  readonly documentSizes = new DocumentSizes()
  readonly access = new AccessCache()
  readonly grants = new Grants()
  /** When an identity violation was last logged (logged at most once a second). */
  forgedLoggedAt = 0
  readonly replicas: ReplicaSet
  /** The root's server hooks on content, when the application gave any. */
  readonly hooks: HookRunner | undefined
  readonly appHandlers: AppHandlers = new AppHandlers(this)
  readonly fencing: Fencing
  /** Set when a coordinator (etcd) decides the root (option `coordinator`). */
  readonly coordination: Coordination | undefined
  formerAncestors: Array<{ id: EndpointId; addresses: EndpointAddresses }> = []
  readonly memory: TreeMemory
  /** Documents and application kinds: one lane per key, bounded (back-pressure). */
  readonly #pool: HandlerPool<Work>
  /** Tree control (hello, welcome, heartbeat, roster, leave): its own lanes. */
  readonly #control: HandlerPool<Work>
  readonly #ticker: Ticker
  /** Admission of new children (a burst of joins is queued, then refused with ERR_BUSY). */
  readonly joins: JoinGate
  readonly presenceOut = new PresenceOut(this)
  #inbound: PullChannel | undefined
  #outbound: PubChannel | undefined
  #parent: ParentLink | undefined
  #parentLost = false
  #closed = false
  #role: Role
  readonly #listeners: ChannelListener[] = []
  #inboundListener: ChannelListener | undefined
  #parentListener: ChannelListener | undefined
  #timer: TimerHandle | undefined
  readonly #deferred = new DeferQueue((error) => {
    this.stats.handlerErrors++
    this.logger.error({ err: error }, 'deferred work failed')
  })
  #welcome: { resolve: () => void; reject: (e: Error) => void } | undefined
  #joinedBefore = false

  constructor(readonly opts: ResolvedOptions) {
    this.id = opts.id ?? newEndpointId()
    this.clock = opts.clock ?? realClock
    this.logger = opts.logger.child({ endpoint: this.id })
    this.succession = new Succession(this.id, !opts.join)
    this.#role = opts.join ? 'client' : 'host'
    this.children = new Children(opts.childRateLimit)
    this.joins = new JoinGate(opts.joinLimit, this.clock)
    this.identities = new Identities(
      () => this.#inbound,
      () => this.#outbound,
    )
    const onError = (error: unknown, work: Work) => {
      this.stats.handlerErrors++
      this.logger.warn({ err: error, kind: kindName(work.message.kind), doc: work.message.doc }, 'a message handler failed')
    }
    this.#pool = new HandlerPool<Work>({ concurrency: opts.concurrency, queueLimit: opts.queueLimit, run: (work) => this.#dispatch(work), onError })
    this.#control = new HandlerPool<Work>({ concurrency: 4, queueLimit: opts.queueLimit, run: (work) => this.#dispatch(work), onError })
    const isRoot = (): boolean => this.succession.isRoot
    const storage = this.opts.storage
    const { validate, onChange, onLoad, onStore } = opts
    if (validate || onChange || onLoad || onStore) {
      this.hooks = new HookRunner({
        hooks: { validate, onChange, onLoad, onStore },
        timeoutMs: opts.hookTimeoutMs,
        storeDebounceMs: opts.storeDebounceMs,
        clock: this.clock,
        logger: this.logger,
        stats: this.stats,
        reportError: (error) => this.events.emit('error', error),
      })
    }
    const hooks = this.hooks
    const io: ReplicaIO = {
      self: this.id,
      logger: this.logger,
      stats: this.stats,
      epoch: () => this.succession.epoch,
      now: () => this.clock.now(),
      isRoot,
      mayConfirm: () => this.coordination?.mayConfirm() ?? true,
      sendUp: (bytes) => this.sendUp(bytes),
      publishFragments: (doc, envelopes) => this.publishFragments(doc, envelopes),
      publishOnDoc: (doc, bytes) => this.publish(docTopic(doc), bytes),
      sendTo: (endpoint, bytes) => this.sendTo(endpoint, bytes),
      defer: (fn) => this.defer(fn),
      later: (fn) => void (typeof setImmediate === 'function' ? setImmediate(fn) : setTimeout(fn, 0)),
      // Only the root writes: a relay or client with storage keeps its tree record there, no documents.
      get storage() {
        return isRoot() ? storage : undefined
      },
      maybeSnapshot: (replica) => this.replicas.maybeSnapshot(replica),
      hooks,
    }
    this.replicas = new ReplicaSet({
      io,
      clock: this.clock,
      logger: this.logger,
      logLimit: opts.logLimit,
      logBytes: opts.logBytes,
      maxMessageBytes: opts.maxMessageBytes,
      snapshotEvery: opts.snapshotEvery,
      storage: opts.storage,
      load: hooks && onLoad ? (doc) => hooks.load(doc) : undefined,
      check: typeof opts.coordinator === 'object' && opts.coordinator.checkDocument ? (doc, opening) => (opts.coordinator as Coordinator).checkDocument!(doc, opening) : undefined,
      isRoot: () => this.succession.isRoot,
      epoch: () => this.succession.epoch,
      // sendUp counts the message (by its kind) itself.
      sendUp: (_kind, bytes) => this.sendUp(bytes),
      subscribeDoc: (doc) => this.#parent?.subscribe(docTopic(doc)),
      unsubscribeDoc: (doc) => this.#parent?.unsubscribe(docTopic(doc)),
    })
    this.fencing = new Fencing(this)
    const coordinator = opts.coordinator
    this.coordination = coordinator && coordinator !== 'peers' ? new Coordination(this, coordinator) : undefined
    this.memory = new TreeMemory(this)
    this.#ticker = new Ticker(this, {
      stalled: (channel) => (channel === 'inbound' ? this.#inboundListener : this.#parentListener)?.stalled ?? false,
      // With a coordinator, the service fences: a root holds while its lease is unproved.
      fencingTick: () => (this.coordination ? this.coordination.tick() : this.fencing.tick()),
      woke: () => (this.coordination ? this.coordination.tick() : this.fencing.woke()),
      seek: () => {
        if (this.seeking) this.fencing.seek()
      },
    })
  }

  get closed(): boolean {
    return this.#closed
  }

  get parent(): ParentLink | undefined {
    return this.#parent
  }

  get role(): Role {
    return this.#role
  }

  /** The root, or welcomed by a parent not presumed lost. */
  get connected(): boolean {
    if (this.#closed) return false
    if (this.succession.isRoot) return true
    return this.#parent?.welcomed === true && !this.#parentLost
  }

  /** Items waiting or running in the handler lanes. */
  get queueDepth(): number {
    return this.#pool.depth + this.#control.depth
  }

  get addresses(): EndpointAddresses | undefined {
    return this.#inbound && this.#outbound ? { inbound: this.#inbound.address, outbound: this.#outbound.address } : undefined
  }

  ancestorChain(): AddressInfo[] {
    const self = this.addresses
    const me: AddressInfo[] = self ? [{ id: endpointIdToBytes(this.id), inbound: self.inbound, outbound: self.outbound }] : []
    return [...me, ...(this.#parent?.ancestors ?? [])]
  }

  refusal(reason: RefusalReason): void {
    this.stats.refusals[reason] = (this.stats.refusals[reason] ?? 0) + 1
  }

  updateRole(): void {
    if (this.succession.inLimbo) return
    const role: Role = this.succession.isRoot ? 'host' : this.children.size > 0 ? 'relay' : 'client'
    if (role === this.#role) return
    this.#role = role
    this.logger.info({ role }, 'role changed')
    this.events.emit('role', role)
  }

  isSettled(): boolean {
    return this.succession.state === 'settled'
  }

  // ---- start ---------------------------------------------------------------------------

  async bind(addresses: EndpointAddresses): Promise<void> {
    const t = this.opts.transport
    this.#inbound = await t.pull(addresses.inbound, { maxMessageBytes: this.opts.maxMessageBytes })
    // Gated: a child hears only what it was admitted to (transports that can tell children apart).
    this.#outbound = await t.pub(addresses.outbound, { maxMessageBytes: this.opts.maxMessageBytes, gated: true })
    this.#inboundListener = this.#listen(this.#inbound, 'inbound', 1, 'child')
  }

  /**
   * Connects to a parent and waits for its welcome (from `expect`, when given: another
   * endpoint answering at that address is refused). On failure the half-made link is closed
   * and this endpoint has no parent again, so a caller can try the next address.
   */
  async join(addresses: EndpointAddresses, timeoutMs = this.opts.joinTimeoutMs, expect?: EndpointId, signal?: AbortSignal): Promise<void> {
    const transport = this.opts.joinTransport ?? this.opts.transport
    const link = await ParentLink.connect(transport, addresses, this.id, this.opts.maxMessageBytes, this.logger, () => this.stats.queueDrops++, this.clock.now())
    link.expected = expect
    const previous = this.#parent
    this.#parent = link
    if (previous && previous !== link) void previous.close()
    this.succession.forgetRosterVersion()
    this.#parentListener = this.#listen(link.sub, 'parent', 2, 'parent', link)
    const welcomed = new Promise<void>((resolve, reject) => (this.#welcome = { resolve, reject }))
    // A coordinated endpoint stops waiting on a leader that was replaced (it may be dead).
    const welcome = this.#welcome
    const onAbort = () => void (this.#welcome === welcome && welcome?.reject(new AbortError(`Joining ${addresses.inbound}`)))
    signal?.addEventListener('abort', onAbort, { once: true })
    if (signal?.aborted) onAbort()
    const started = this.clock.now()
    // Said again until answered (the subscription may not have reached the parent yet), less
    // and less often: a crowd joining a busy parent must not bury it under repeated hellos.
    let retry = Math.max(50, Math.min(500, this.opts.heartbeatMs))
    let hello: TimerHandle | undefined
    const again = () => {
      this.sendHello()
      hello = this.clock.setTimeout(again, retry)
      retry = Math.min(retry * 2, 2000)
    }
    again()
    const timeout = this.clock.setTimeout(() => this.#welcome?.reject(link.busy ? busyError(addresses.inbound, timeoutMs) : new JoinTimeoutError(addresses.inbound, timeoutMs)), timeoutMs)
    try {
      await welcomed
      this.logger.info({ parent: link.parentId, ms: this.clock.now() - started }, 'joined')
      this.updateRole()
      this.memory.changed()
    } catch (error) {
      if (this.#parent === link && link.welcomed) {
        // The welcome was handled in the same turn the timeout fired (a busy loop): it counts.
        this.logger.info({ parent: link.parentId, ms: this.clock.now() - started }, 'joined (the welcome came as the wait ended)')
        this.updateRole()
        this.memory.changed()
        return
      }
      if (this.#parent === link) this.#parent = undefined
      await link.close()
      throw error
    } finally {
      signal?.removeEventListener('abort', onAbort)
      this.clock.clearTimeout(hello)
      this.clock.clearTimeout(timeout)
      this.#welcome = undefined
    }
  }

  /** Started in limbo (restarted, not the root before): still looking for its tree (see restart.ts). */
  #seeking = false

  /** For the tick: a restarted endpoint still looking for its tree. */
  get seeking(): boolean {
    if (this.#seeking && !this.succession.inLimbo) this.#seeking = false
    return this.#seeking
  }

  /** Restarted, not the root before, and its tree not found yet: keep looking every tick. */
  startSeeking(): void {
    this.#seeking = true
  }

  /** Drops the link to a parent presumed dead, without a goodbye. */
  async detachParent(): Promise<void> {
    const link = this.#parent
    if (!link) return
    this.#parent = undefined
    await link.close()
  }

  sendHello(): void {
    const link = this.#parent
    if (!link || link.helloPausedUntil > this.clock.now()) return
    const a = this.addresses
    const payload = HelloCodec.encode({
      token: this.opts.token,
      inbound: a?.inbound ?? '',
      outbound: a?.outbound ?? '',
      priority: this.opts.priority,
      docs: this.replicas.heads(true),
      ancestry: [],
      incarnation: this.incarnation,
      peerTimeoutMs: this.opts.peerTimeoutMs,
    })
    link.send(encodeMessage({ kind: Kind.HELLO, origin: this.id, epoch: this.succession.epoch, payload }))
    this.countSent(Kind.HELLO)
  }

  welcomed(parentId: EndpointId): void {
    const link = this.#parent
    if (!link) return
    if (link.welcomed && link.parentId === parentId) return
    // Documents already open mean a re-join (or a stale root joining its successor).
    const rejoin = this.#joinedBefore || this.replicas.size > 0
    this.#joinedBefore = true
    link.parentId = parentId
    link.welcomed = true
    link.heard(this.clock.now())
    if (this.succession.inLimbo) this.succession.joined()
    this.#welcome?.resolve()
    if (!rejoin) return
    // A re-join (the parent forgot us, or a new parent after a failover): reopen what we
    // carry, catching up from our seq, and resend what is pending.
    this.logger.info({ parent: parentId }, 'joined again')
    for (const r of this.replicas.values()) {
      r.sequencer = undefined
      r.resetStaged()
      link.subscribe(docTopic(r.doc))
      this.replicas.requestOpen(r)
      this.stats.resent += r.resendPending(0)
    }
  }

  joinRefused(reason: string, code = ''): void {
    const error = new JoinRefusedError(this.#parent?.addresses.inbound ?? '?', reason, code)
    if (this.#welcome) this.#welcome.reject(error)
    else this.events.emit('error', error)
  }

  parentBack(): void {
    if (!this.#parentLost) return
    this.#parentLost = false
    this.events.emit('parent-back')
  }

  startFailover(why: string): void {
    if (!this.#parentLost) {
      this.#parentLost = true
      this.logger.warn({ parent: this.#parent?.parentId, why }, 'the parent is presumed lost')
      this.events.emit('parent-lost')
    }
    if (this.coordination) return this.coordination.parentSilent(why)
    void failover(this, why).catch((error: unknown) => this.logger.error({ err: error }, 'failover failed'))
  }

  sawAncestors(chain: readonly AddressInfo[]): void {
    if (!this.coordination) this.fencing.sawAbove(chain)
  }

  hintNewerRoot(at: EndpointAddresses): void {
    // With a coordinator, another root's say-so is not evidence: only the service names roots.
    if (this.coordination) return
    this.fencing.hint(at)
  }

  maybeEndRecovery(): void {
    if (!this.succession.recoveryDue(this.clock.now(), (id) => this.children.has(id))) return
    this.succession.recovered()
    this.logger.info({ epoch: this.succession.epoch }, 'recovery done; sequencing')
    this.memory.changed()
    void this.replicas.resume().then((resent) => {
      this.stats.resent += resent
      this.replicas.serveWaiting()
    })
  }

  startTimers(): void {
    this.#timer = this.clock.setInterval(() => this.#ticker.tick(), this.opts.heartbeatMs)
  }

  #listen(channel: PullChannel | ParentLink['sub'], name: string, frames: 1 | 2, from: Work['from'], link?: ParentLink): ChannelListener {
    const listener = new ChannelListener(channel, {
      name,
      frames,
      maxMessageBytes: this.opts.maxMessageBytes,
      logger: this.logger,
      onBadFrame: (error: BadFrameError) => {
        this.stats.badFrames++
        this.logger.warn({ reason: error.reason, channel: name }, 'dropped a bad frame')
      },
      deliver: (message, topic, peer) => this.#deliver(message, topic, from, link, peer),
    })
    this.#listeners.push(listener)
    listener.start()
    return listener
  }

  /** A frame was read: liveness is stamped now, then the message goes to its lane. */
  #deliver(message: Message, topic: string, from: Work['from'], link: ParentLink | undefined, peer?: PeerIdentity): Promise<void> | undefined {
    this.stats.received++
    const k = kindName(message.kind)
    this.stats.receivedByKind[k] = (this.stats.receivedByKind[k] ?? 0) + 1
    const now = this.clock.now()
    if (link) {
      // Only the parent's own frames count: another process that took its address (a restart)
      // must not keep a dead parent alive. Before the welcome, anything from there counts.
      if (!link.welcomed || message.sender === link.parentId) {
        link.heard(now)
        if (link === this.#parent && link.welcomed) this.parentBack()
      }
    } else {
      this.children.heard(message.sender, now)
    }
    const work: Work = peer ? { message, from, topic, link, peer } : { message, from, topic, link }
    if (CONTROL.has(message.kind) || (message.kind === Kind.REFUSE && !message.doc)) {
      if (this.#control.depth >= this.opts.queueLimit) return void this.stats.queueDrops++
      this.#control.push(`${from}:${message.sender}`, work)
      return undefined
    }
    return this.#pool.offer(this.#laneOf(message), work)
  }

  #dispatch(work: Work): void | Promise<void> {
    if (this.#closed) return
    const started = performance.now()
    const result = work.from === 'parent' ? handleFromParent(this, work) : work.from === 'answer' ? handleOwnAnswer(this, work) : handleFromChild(this, work)
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
    const out = this.#outbound
    if (!out || this.#closed) return
    this.countSent(peekKind(bytes))
    out.send(topic, bytes).catch((error: unknown) => {
      if (!this.#closed) this.logger.warn({ err: error, topic }, 'publishing failed')
    })
  }

  refuse(to: EndpointId, code: string, reason: string, doc: DocId | '' = '', clientSeq = 0, retryAfterMs = 0): void {
    this.stats.refusedByCode[code] = (this.stats.refusedByCode[code] ?? 0) + 1
    const payload = RefusalCodec.encode({ code, reason, retryAfterMs })
    this.publish(endpointTopic(to), encodeMessage({ kind: Kind.REFUSE, origin: this.id, doc, clientSeq, epoch: this.succession.epoch, payload }))
  }

  /** Towards the root; at the root, straight into its own handler pool. */
  sendUp(bytes: Uint8Array): void {
    if (this.#closed) return
    if (this.#parent) {
      this.countSent(peekKind(bytes))
      this.#parent.sentAt = this.clock.now()
      this.#parent.send(bytes)
      return
    }
    if (!this.succession.isRoot) {
      // In the limbo of a failover: nowhere to send. Changes stay pending and are resent.
      this.stats.queueDrops++
      return
    }
    // On a later turn, as a child's change would come: pushed now, the handler would run inside
    // the caller (the pool starts an idle lane at once), and a root answering its own change
    // would take the resend in the middle of answering the rest of that batch.
    const message = decodeMessage(bytes, Infinity)
    this.defer(() => this.#pool.push(this.#laneOf(message), { message, from: 'self', topic: '' }))
  }

  sendTo(endpoint: EndpointId, bytes: Uint8Array): void {
    if (endpoint === this.id) {
      // The root answering its own change: no parent link carries it (handleOwnAnswer).
      const message = decodeMessage(bytes, Infinity)
      this.defer(() => this.#pool.push(this.#laneOf(message), { message, from: 'answer', topic: endpointTopic(this.id) }))
      return
    }
    this.publish(endpointTopic(endpoint), bytes)
  }

  publishFragments(doc: DocId, envelopes: Uint8Array[]): void {
    // A write that finished after the lease lapsed is not confirmed: the origins keep the
    // change pending and resend it to the next root.
    if (this.coordination && !this.coordination.mayConfirm()) return void (this.stats.dropped += envelopes.length)
    if (!this.#outbound || this.children.size === 0 || envelopes.length === 0) return
    if (envelopes.length === 1) {
      this.publish(docTopic(doc), envelopes[0]!)
      return
    }
    const payload = BatchCodec.encode({ envelopes })
    this.publish(docTopic(doc), encodeMessage({ kind: Kind.FRAGMENTS, origin: this.id, doc, epoch: this.succession.epoch, payload }))
  }

  watchOrigin(origin: EndpointId): void {
    if (origin !== this.id) this.#parent?.subscribe(endpointTopic(origin))
  }

  // ---- the child table -----------------------------------------------------------------

  #childrenQueued = false
  #memoryVersion = -1

  /**
   * The children changed. Once per tick however many joined or left in it (a burst of joins
   * must not cost one roster or one `peers` list per join): the roster's delta, if the
   * children that can be promoted changed (one frame, encoded once); the role; `peers`.
   */
  childrenChanged(): void {
    if (this.#childrenQueued) return
    this.#childrenQueued = true
    this.defer(() => {
      this.#childrenQueued = false
      if (this.#closed) return
      const delta = this.children.roster.takeDelta(this.id, this.succession.epoch)
      if (delta) this.publish(CONTROL_TOPIC, delta)
      this.updateRole()
      if (this.events.listenerCount('peers') > 0) this.events.emit('peers', this.children.peers())
      if (this.children.version !== this.#memoryVersion) {
        this.#memoryVersion = this.children.version
        this.memory.changed()
      }
    })
  }

  /** The whole roster to one child (a join, or a child whose roster fell behind): encoded once per version. */
  sendRoster(child: EndpointId): void {
    this.publish(endpointTopic(child), this.children.roster.whole(this.id, this.succession.epoch))
  }

  removeChild(id: EndpointId, why: 'left' | 'silent'): void {
    const lostUntil = why === 'silent' ? this.clock.now() + this.opts.peerTimeoutMs * 20 : 0
    const child = this.children.remove(id, lostUntil)
    this.identities.childGone(id)
    if (!child) return
    this.logger.info({ child: id, why }, 'child removed')
    for (const doc of child.docs) {
      const replica = this.replicas.get(doc)
      if (!replica) continue
      replica.children.delete(id)
      clearPresence(this, replica, id)
      this.replicas.drop(replica)
    }
    this.childrenChanged()
  }

  defer(fn: () => void): void {
    this.#deferred.defer(fn)
  }

  assertOpen(what = 'Endpoint'): void {
    if (this.#closed) throw new ClosedError(`${what} ${this.id}`)
  }

  // ---- close ---------------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.#closed) return
    // Resign first: a successor is elected at once rather than after the lease runs out.
    await this.coordination?.coordinator.close().catch((error: unknown) => this.logger.warn({ err: error }, 'leaving the coordinator failed'))
    const steps: Array<[string, () => unknown]> = [
      ['say goodbye', () => this.#parent && (this.countSent(Kind.LEAVE), this.#parent.send(encodeMessage({ kind: Kind.LEAVE, origin: this.id, epoch: this.succession.epoch })))],
      ['stop timers', () => (this.clock.clearInterval(this.#timer), this.joins.close(), this.presenceOut.stop())],
      ['abandon pending changes', () => [...this.replicas.values()].forEach((r) => r.abandon('the endpoint was closed'))],
    ]
    for (const [name, step] of steps) this.#guard(name, step)
    // Give the goodbye a moment to leave before the channel closes (a dead parent cannot hold us).
    await this.#parent?.flush(100)
    this.#closed = true
    this.#welcome?.reject(new ClosedError(`Endpoint ${this.id}`))
    // Let storage writes in flight finish, so what was acknowledged is durable on exit.
    await Promise.race([Promise.all([...this.replicas.values()].map((r) => r.sequencer?.idle())), new Promise((r) => setTimeout(r, 2_000))])
    // onChange calls in flight finish, and what changed since the last onStore is stored.
    if (this.succession.isRoot) await this.hooks?.close()
    await this.memory.flush()
    this.#pool.close()
    this.#control.close()
    await this.appHandlers.close()
    const closing: Array<Promise<unknown> | undefined> = [this.#parent?.close(), this.#inbound?.close(), this.#outbound?.close()]
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

  /** The lane of a message: its document, or its application kind (one slow handler holds back only its kind; a worker handler's `orderBy` may split it). */
  #laneOf(m: Message): string {
    return m.doc ? m.doc : m.kind === Kind.APP ? this.appHandlers.lane(m) : ''
  }
}

/** The parent kept saying it was busy admitting other joins for the whole join timeout. */
function busyError(address: string, ms: number): JoinRefusedError {
  return new JoinRefusedError(address, `it was busy admitting other joins for all of ${ms} ms; try again in a few seconds (or raise joinTimeoutMs)`, 'ERR_BUSY')
}
