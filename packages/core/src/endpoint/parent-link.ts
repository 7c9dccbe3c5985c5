import { newSession, type EndpointId } from '../ids.js'
import type { Logger } from '../logger.js'
import type { AddressInfo } from '../protocol/payloads.js'
import { CONTROL_TOPIC, endpointTopic } from '../protocol/topics.js'
import type { PushChannel, SubChannel, Transport } from '../transport.js'
import type { EndpointAddresses } from './options.js'

const SEND_QUEUE_LIMIT = 10_000

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
  lastHeard = Date.now()
  ancestors: AddressInfo[] = []
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
  ) {}

  static async connect(transport: Transport, addresses: EndpointAddresses, self: EndpointId, maxMessageBytes: number, logger: Logger, onDrop: () => void): Promise<ParentLink> {
    // One secret per link ties our PUSH and SUB together, so a parent that can tell connections
    // apart (WebSocket) binds our id to them and lets our SUB hear what we were admitted to.
    const session = newSession()
    const sub = await transport.sub(addresses.outbound, { maxMessageBytes, session })
    let push: PushChannel
    try {
      push = await transport.push(addresses.inbound, { maxMessageBytes, session })
    } catch (error) {
      await sub.close()
      throw error
    }
    const link = new ParentLink(addresses, push, sub, logger, onDrop)
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
