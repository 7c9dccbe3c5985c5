import type { PullChannel } from '@zinc/core'
import { Link } from './link.js'
import { InprocReceiveChannel } from './receive-channel.js'
import type { BoundChannel, ChannelHost, Connector, ResolvedOptions } from './wiring.js'

/** A bound PULL: one link per connected PUSH, read fairly, order kept per link. */
export class InprocPullChannel extends InprocReceiveChannel implements PullChannel, BoundChannel {
  readonly kind = 'pull'
  private readonly peers = new Map<Link, Connector>()

  constructor(
    readonly host: ChannelHost,
    readonly address: string,
    readonly options: ResolvedOptions,
  ) {
    super()
  }

  /** @internal */
  accept(push: Connector): void {
    const link = new Link(
      this.host.core,
      {
        key: `push ${this.address} ${push.host.id}>${this.host.id}`,
        from: push.host.node,
        to: this.host.node,
        capacity: push.options.highWaterMark + this.options.highWaterMark,
        maxMessageBytes: this.options.maxMessageBytes,
      },
      this,
      // A message left the queue: the push may have sends waiting for that room.
      () => push.drain(),
    )
    this.peers.set(link, push)
    this.addLink(link)
    push.attach(link, this)
  }

  /** @internal */
  release(link: Link): void {
    link.close()
    this.peers.delete(link)
    this.removeLink(link)
  }

  /** @internal */
  kill(): void {
    // Reads stay pending forever: a dead process notices nothing.
    this.shutdown()
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.endReads()
    this.shutdown()
    this.host.released()
  }

  private shutdown(): void {
    this.host.core.unbind(this)
    for (const [link, push] of [...this.peers]) {
      this.release(link)
      push.detached()
      this.host.core.park(push)
    }
  }
}
