import { ChannelClosedError, type PubChannel } from '@zinc/core'
import { Link } from './link.js'
import type { InprocSubChannel } from './sub-channel.js'
import type { BoundChannel, ChannelHost, Connector, ResolvedOptions } from './wiring.js'

const encoder = new TextEncoder()

/**
 * A bound PUB: one link per subscriber, filtered by its prefixes. `send` never waits: a
 * subscriber whose link is full loses the message (counted as `droppedByHwm`).
 */
export class InprocPubChannel implements PubChannel, BoundChannel {
  readonly kind = 'pub'
  private readonly subscribers = new Map<Link, InprocSubChannel>()
  private isClosed = false
  private isDead = false

  constructor(
    readonly host: ChannelHost,
    readonly address: string,
    readonly options: ResolvedOptions,
  ) {}

  get closed(): boolean {
    return this.isClosed
  }

  send(topic: string, body: Uint8Array): Promise<void> {
    if (this.isClosed) return Promise.reject(new ChannelClosedError(this.address))
    if (this.isDead) {
      this.host.core.counters.droppedByPartition++
      return Promise.resolve()
    }
    const topicFrame = encoder.encode(topic)
    for (const [link, subscriber] of this.subscribers) {
      // Each subscriber gets its own frames array; the bytes themselves are shared.
      if (subscriber.matches(topic)) link.offer([topicFrame, body], true)
    }
    return Promise.resolve()
  }

  /** @internal */
  accept(connector: Connector): void {
    const subscriber = connector as InprocSubChannel
    const link = new Link(
      this.host.core,
      {
        key: `pub ${this.address} ${this.host.id}>${subscriber.host.id}`,
        from: this.host.node,
        to: subscriber.host.node,
        capacity: this.options.highWaterMark + subscriber.options.highWaterMark,
        maxMessageBytes: subscriber.options.maxMessageBytes,
      },
      subscriber,
    )
    this.subscribers.set(link, subscriber)
    subscriber.attach(link, this)
  }

  /** @internal */
  release(link: Link): void {
    link.close()
    this.subscribers.delete(link)
  }

  /** @internal */
  kill(): void {
    this.isDead = true
    this.shutdown()
  }

  async close(): Promise<void> {
    if (this.isClosed) return
    this.isClosed = true
    this.shutdown()
    this.host.released()
  }

  private shutdown(): void {
    this.host.core.unbind(this)
    for (const [link, subscriber] of [...this.subscribers]) {
      this.release(link)
      subscriber.detached()
      this.host.core.park(subscriber)
    }
  }
}
