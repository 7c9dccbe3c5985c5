import { endpointIdFromBytes, newSession, type EndpointId } from '../ids.js'
import type { Logger } from '../logger.js'
import type { AddressInfo, Heartbeat } from '../protocol/payloads.js'
import { CONTROL_TOPIC, endpointTopic } from '../protocol/topics.js'
import type { PushChannel, SubChannel, Transport } from '../transport.js'
import type { EndpointAddresses } from './options.js'

const SEND_QUEUE_LIMIT = 10_000

/** Longest ancestor chain accepted: deeper means a loop being passed around, or a forgery. */
export const MAX_DEPTH = 64

/**
 * The connection to the parent: a PUSH to its inbound and a SUB to its outbound. Sends go
 * through one bounded queue so a slow or dead parent never blocks a document's handler; when
 * the queue is full the message is dropped and counted (local changes are resent from the
 * pending set, so nothing acknowledged depends on this queue).
 */
export class ParentLink {
  /** Set by the parent's welcome. */
  parentId: EndpointId | undefined
  welcomed = false
  /** The endpoint the succession order meant to join here (a different one answering is refused). */
  expected: EndpointId | undefined
  /** Heartbeats in a row whose roster version differed from ours. */
  rosterMisses = 0
  /** The last heartbeat payload taken from the parent, and what it decoded to. */
  lastBeat: { payload: Uint8Array; heartbeat: Heartbeat } | undefined
  /** When anything was last sent up (by `sendUp`, on the node's clock): any frame says this endpoint is alive. */
  sentAt = Number.NEGATIVE_INFINITY
  /** The parent said it is busy admitting joins (ERR_BUSY): no hello before this time. */
  helloPausedUntil = 0
  /** It said so at least once during this join. */
  busy = false
  /** When we last asked for the whole roster (a delta we could not apply; throttled). */
  rosterAskedAt = Number.NEGATIVE_INFINITY
  /** When we last said hello again after the parent forgot us (throttled). */
  rehelloAt = Number.NEGATIVE_INFINITY
  /** Heartbeats in a row whose chain contained this endpoint. */
  loopSeen = 0
  /** The parent's peerTimeoutMs as its welcome said (undefined: unknown); idle heartbeats up cover it. */
  peerTimeoutMs: number | undefined
  #lastHeard: number
  /** The parent's ancestor chain: the parent first, the root last. */
  #ancestors: AddressInfo[] = []
  #loopChain: EndpointId[] = []
  readonly #queue: Uint8Array[] = []
  #pumping = false
  #closed = false
  readonly #topics = new Set<string>()

  private constructor(
    readonly addresses: EndpointAddresses,
    readonly push: PushChannel,
    readonly sub: SubChannel,
    readonly logger: Logger,
    readonly onDrop: () => void,
    now: number,
  ) {
    this.#lastHeard = now
  }

  /** A frame from the parent was read (stamped on read, never behind a handler queue). */
  heard(now: number): void {
    if (now > this.#lastHeard) this.#lastHeard = now
  }

  /** How long the parent has been silent. */
  silentFor(now: number): number {
    return now - this.#lastHeard
  }

  get ancestors(): readonly AddressInfo[] {
    return this.#ancestors
  }

  /**
   * Takes the parent's chain from a welcome or heartbeat, checking it: it must start with the
   * parent, hold only well-formed ids, and not contain `self` (a loop). Returns the reason it
   * is refused, or undefined when it was taken.
   */
  takeChain(chain: AddressInfo[], self: EndpointId): 'loop' | 'bad-chain' | undefined {
    if (chain.length > MAX_DEPTH || chain.some((a) => a.id.byteLength !== 16)) return 'bad-chain'
    const ids = chain.map((a) => endpointIdFromBytes(a.id))
    if (this.parentId && ids.length > 0 && ids[0] !== this.parentId) return 'bad-chain'
    const at = ids.indexOf(self)
    if (at >= 0) {
      this.#loopChain = ids.slice(0, at)
      return 'loop'
    }
    this.#ancestors = chain
    return undefined
  }

  /** The loop's members as the last refused chain shows them: `self` and the chain up to it. */
  chainIdsWith(self: EndpointId): Set<EndpointId> {
    return new Set([self, ...this.#loopChain])
  }

  /** The root at the end of the chain (undefined before the first chain arrives). */
  get rootId(): EndpointId | undefined {
    const last = this.#ancestors[this.#ancestors.length - 1]
    return last ? endpointIdFromBytes(last.id) : undefined
  }

  /** Ids of the chain (the parent first). */
  chainIds(): EndpointId[] {
    return this.#ancestors.map((a) => endpointIdFromBytes(a.id))
  }

  static async connect(transport: Transport, addresses: EndpointAddresses, self: EndpointId, maxMessageBytes: number, logger: Logger, onDrop: () => void, now: number): Promise<ParentLink> {
    // One secret per link ties our PUSH and SUB together, so a parent that can tell connections
    // apart (WebSocket) binds our id to them and lets our SUB hear what we were admitted to.
    const session = newSession()
    // Both at once: a transport may resolve only once its connection is up (WebSocket does).
    const [subbed, pushed] = await Promise.allSettled([transport.sub(addresses.outbound, { maxMessageBytes, session }), transport.push(addresses.inbound, { maxMessageBytes, session })])
    if (subbed.status === 'rejected' || pushed.status === 'rejected') {
      await Promise.allSettled([subbed.status === 'fulfilled' && subbed.value.close(), pushed.status === 'fulfilled' && pushed.value.close()])
      throw subbed.status === 'rejected' ? subbed.reason : (pushed as PromiseRejectedResult).reason
    }
    const sub = subbed.value
    const push: PushChannel = pushed.value
    const link = new ParentLink(addresses, push, sub, logger, onDrop, now)
    // Subscribe before saying hello (the Clone pattern): replies published after the
    // subscription reaches the parent cannot be missed.
    link.subscribe(CONTROL_TOPIC)
    link.subscribe(endpointTopic(self))
    return link
  }

  subscribe(topic: string): void {
    if (this.#topics.has(topic) || this.#closed) return
    this.#topics.add(topic)
    this.sub.subscribe(topic)
  }

  unsubscribe(topic: string): void {
    if (!this.#topics.delete(topic) || this.#closed) return
    this.sub.unsubscribe(topic)
  }

  get queued(): number {
    return this.#queue.length
  }

  send(bytes: Uint8Array): void {
    if (this.#closed) return
    if (this.#queue.length >= SEND_QUEUE_LIMIT) {
      this.onDrop()
      return
    }
    this.#queue.push(bytes)
    if (!this.#pumping) void this.#pump()
  }

  async #pump(): Promise<void> {
    this.#pumping = true
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const bytes = this.#queue.shift()!
        try {
          await this.push.send(bytes)
        } catch (error) {
          if (!this.#closed) this.logger.warn({ err: error }, 'sending to the parent failed')
        }
      }
    } finally {
      this.#pumping = false
    }
  }

  /** Resolves once everything queued has been handed to the channel, or after `ms`. */
  async flush(ms: number): Promise<void> {
    const deadline = Date.now() + ms
    while ((this.#queue.length > 0 || this.#pumping) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2))
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#queue.length = 0
    await Promise.allSettled([this.push.close(), this.sub.close()])
  }
}
