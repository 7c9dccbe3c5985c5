import { ClosedError } from '../errors.js'
import { TypedEmitter } from '../events.js'
import { endpointIdToBytes, newEndpointId, type DocId, type EndpointId } from '../ids.js'
import type { Logger } from '../logger.js'
import { encodeMessage } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import type { AddressInfo } from '../protocol/payloads.js'
import { endpointTopic } from '../protocol/topics.js'
import { ChannelListener } from '../runtime/channel-listener.js'
import { realClock, type Clock, type TimerHandle } from '../runtime/clock.js'
import { DeferQueue } from '../runtime/defer-queue.js'
import { emptyStats, type EndpointStats, type RefusalReason } from '../runtime/stats.js'
import type { PubChannel, PullChannel } from '../transport.js'
import { Identities } from './identity.js'
import { DocumentSizes } from './document-size.js'
import { AppHandlers } from './app-handlers.js'
import { Children } from './children.js'
import { JoinGate } from './join-gate.js'
import { PresenceOut } from './presence-out.js'
import { Coordination } from './coordination.js'
import type { EndpointEvents, NodeContext, Role } from './context.js'
import { failover } from './failover.js'
import { Fencing } from './fencing.js'
import type { EndpointAddresses, ResolvedOptions } from './options.js'
import { ParentLink } from './parent-link.js'
import { ReplicaSet } from './replicas.js'
import { HookRunner } from './hook-runner.js'
import { Inbox } from './inbox.js'
import { ChildChanges } from './child-changes.js'
import { Joining } from './joining.js'
import { Outbox } from './outbox.js'
import { serverHooks, wireReplicas } from './replica-wiring.js'
import { Succession } from './succession.js'
import { Ticker } from './tick.js'
import { AccessCache } from './access-cache.js'
import { Grants } from './grants.js'
import { TreeMemory } from './tree-memory.js'

export type { EndpointEvents, Role } from './context.js'

/**
 * The machinery of one endpoint (the public face is `Endpoint`). It owns the parts and wires
 * them: the succession state machine (epoch, role, failover state), the child table, the
 * replica set, the parent link, fencing and the tick. The parts keep their state private;
 * handlers and procedures see them through `NodeContext`, which the Node serves mostly by
 * handing on: what comes in to the Inbox, what goes out to the Outbox, joining a parent to
 * Joining, a change of the children to ChildChanges (the replicas are wired in replica-wiring.ts).
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
  /** What comes in: the listeners, the handler lanes, the dispatch to handlers. */
  readonly #inbox: Inbox
  /** What goes out: publishing, sending up, the root's loop-back; every send counted. */
  readonly #outbox: Outbox
  /** The current parent link, and joining it. */
  readonly #joining: Joining
  /** What follows a change of the children: the roster's delta, the role, `peers`. */
  readonly #childChanges = new ChildChanges(this)
  readonly #ticker: Ticker
  /** Admission of new children (a burst of joins is queued, then refused with ERR_BUSY). */
  readonly joins: JoinGate
  readonly presenceOut = new PresenceOut(this)
  #inbound: PullChannel | undefined
  #outbound: PubChannel | undefined
  #parentLost = false
  #closed = false
  #role: Role
  #inboundListener: ChannelListener | undefined
  #parentListener: ChannelListener | undefined
  #timer: TimerHandle | undefined
  readonly #deferred = new DeferQueue((error) => {
    this.stats.handlerErrors++
    this.logger.error({ err: error }, 'deferred work failed')
  })

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
    this.#inbox = new Inbox(this, opts.concurrency)
    this.#outbox = new Outbox(this, this.#inbox, () => this.#outbound)
    this.#joining = new Joining(this, (link) => (this.#parentListener = this.#inbox.listen(link.sub, 'parent', 2, 'parent', link)))
    this.hooks = serverHooks(this)
    this.replicas = wireReplicas(this, this.hooks)
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
    return this.#joining.link
  }

  get role(): Role {
    return this.#role
  }

  /** The root, or welcomed by a parent not presumed lost. */
  get connected(): boolean {
    if (this.#closed) return false
    if (this.succession.isRoot) return true
    return this.parent?.welcomed === true && !this.#parentLost
  }

  /** Items waiting or running in the handler lanes. */
  get queueDepth(): number {
    return this.#inbox.depth
  }

  get addresses(): EndpointAddresses | undefined {
    return this.#inbound && this.#outbound ? { inbound: this.#inbound.address, outbound: this.#outbound.address } : undefined
  }

  ancestorChain(): AddressInfo[] {
    const self = this.addresses
    const me: AddressInfo[] = self ? [{ id: endpointIdToBytes(this.id), inbound: self.inbound, outbound: self.outbound }] : []
    return [...me, ...(this.parent?.ancestors ?? [])]
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
    this.#inboundListener = this.#inbox.listen(this.#inbound, 'inbound', 1, 'child')
  }

  /** Connects to a parent and waits for its welcome (see Joining.join). */
  join(addresses: EndpointAddresses, timeoutMs = this.opts.joinTimeoutMs, expect?: EndpointId, signal?: AbortSignal): Promise<void> {
    return this.#joining.join(addresses, timeoutMs, expect, signal)
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

  detachParent(): Promise<void> {
    return this.#joining.detach()
  }

  sendHello(): void {
    this.#joining.sendHello()
  }

  welcomed(parentId: EndpointId): void {
    this.#joining.welcomed(parentId)
  }

  joinRefused(reason: string, code = ''): void {
    this.#joining.refused(reason, code)
  }

  parentBack(): void {
    if (!this.#parentLost) return
    this.#parentLost = false
    this.events.emit('parent-back')
  }

  startFailover(why: string): void {
    if (!this.#parentLost) {
      this.#parentLost = true
      this.logger.warn({ parent: this.parent?.parentId, why }, 'the parent is presumed lost')
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

  // ---- sending -------------------------------------------------------------------------

  /** Counts one sent message in `sent` and `sentByKind` (see Outbox). */
  countSent(kind: Kind | number): void {
    this.#outbox.countSent(kind)
  }

  publish(topic: string, bytes: Uint8Array): void {
    this.#outbox.publish(topic, bytes)
  }

  refuse(to: EndpointId, code: string, reason: string, doc: DocId | '' = '', clientSeq = 0, retryAfterMs = 0): void {
    this.#outbox.refuse(to, code, reason, doc, clientSeq, retryAfterMs)
  }

  /** Towards the root; at the root, straight into its own handler pool. */
  sendUp(bytes: Uint8Array): void {
    this.#outbox.sendUp(bytes)
  }

  sendTo(endpoint: EndpointId, bytes: Uint8Array): void {
    this.#outbox.sendTo(endpoint, bytes)
  }

  publishFragments(doc: DocId, envelopes: Uint8Array[]): void {
    this.#outbox.publishFragments(doc, envelopes)
  }

  watchOrigin(origin: EndpointId): void {
    if (origin !== this.id) this.parent?.subscribe(endpointTopic(origin))
  }

  // ---- the child table (see ChildChanges) -----------------------------------------------

  childrenChanged(): void {
    this.#childChanges.changed()
  }

  /** The whole roster to one child (a join, or a child whose roster fell behind). */
  sendRoster(child: EndpointId): void {
    this.#childChanges.sendRoster(child)
  }

  removeChild(id: EndpointId, why: 'left' | 'silent'): void {
    this.#childChanges.remove(id, why)
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
      ['say goodbye', () => this.parent && (this.countSent(Kind.LEAVE), this.parent.send(encodeMessage({ kind: Kind.LEAVE, origin: this.id, epoch: this.succession.epoch })))],
      ['stop timers', () => (this.clock.clearInterval(this.#timer), this.joins.close(), this.presenceOut.stop())],
      ['abandon pending changes', () => [...this.replicas.values()].forEach((r) => r.abandon('the endpoint was closed'))],
    ]
    for (const [name, step] of steps) this.#guard(name, step)
    // Give the goodbye a moment to leave before the channel closes (a dead parent cannot hold us).
    await this.parent?.flush(100)
    this.#closed = true
    this.#joining.close()
    // Let storage writes in flight finish, so what was acknowledged is durable on exit.
    await Promise.race([Promise.all([...this.replicas.values()].map((r) => r.sequencer?.idle())), new Promise((r) => setTimeout(r, 2_000))])
    // onChange calls in flight finish, and what changed since the last onStore is stored.
    if (this.succession.isRoot) await this.hooks?.close()
    await this.memory.flush()
    this.#inbox.close()
    await this.appHandlers.close()
    const closing: Array<Promise<unknown> | undefined> = [this.parent?.close(), this.#inbound?.close(), this.#outbound?.close()]
    const results = await Promise.allSettled(closing)
    for (const r of results) if (r.status === 'rejected') this.logger.warn({ err: r.reason }, 'closing a channel failed')
    await this.#inbox.stopped()
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
