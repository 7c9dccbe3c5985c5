import { ChannelClosedError, type SubChannel } from '@zinc/core'
import type { Link } from './link.js'
import { InprocReceiveChannel } from './receive-channel.js'
import type { BoundChannel, ChannelHost, Connector, ResolvedOptions } from './wiring.js'

/**
 * A connected SUB. Subscriptions take effect at once (the publisher filters on them directly),
 * so a subscriber receives exactly what was published after it subscribed; they survive a
 * re-attach to a new PUB on the same address, as ZeroMQ resends them on reconnect.
 */
export class InprocSubChannel extends InprocReceiveChannel implements SubChannel, Connector {
  readonly kind = 'sub'
  /** prefix → count: ZeroMQ counts subscriptions, so two subscribes need two unsubscribes. */
  private readonly subscriptions = new Map<string, number>()
  private link: Link | undefined
  private peer: BoundChannel | undefined
  private isDead = false

  constructor(
    readonly host: ChannelHost,
    readonly address: string,
    readonly options: ResolvedOptions,
  ) {
    super()
  }

  /** @internal */
  get dead(): boolean {
    return this.isDead
  }

  subscribe(prefix: string): void {
    if (this.closed) throw new ChannelClosedError(this.address, 'subscribe')
    this.subscriptions.set(prefix, (this.subscriptions.get(prefix) ?? 0) + 1)
  }

  unsubscribe(prefix: string): void {
    if (this.closed) throw new ChannelClosedError(this.address, 'unsubscribe')
    const count = this.subscriptions.get(prefix)
    if (count === undefined) return
    if (count <= 1) this.subscriptions.delete(prefix)
    else this.subscriptions.set(prefix, count - 1)
  }

  /** @internal Whether a message on `topic` is for this subscriber. */
  matches(topic: string): boolean {
    for (const prefix of this.subscriptions.keys()) if (topic.startsWith(prefix)) return true
    return false
  }

  /** @internal */
  attach(link: Link, peer: BoundChannel): void {
    this.link = link
    this.peer = peer
    this.addLink(link)
  }

  /** @internal */
  detached(): void {
    if (this.link) this.removeLink(this.link)
    this.link = undefined
    this.peer = undefined
  }

  /** @internal A SUB never waits for room. */
  drain(): void {}

  /** @internal */
  kill(): void {
    // Reads stay pending forever: a dead process notices nothing.
    this.isDead = true
    this.leave()
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.endReads()
    this.leave()
    this.host.released()
  }

  private leave(): void {
    if (this.link && this.peer) this.peer.release(this.link)
    this.detached()
    this.host.core.unpark(this)
  }
}
