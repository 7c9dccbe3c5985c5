import { ClosedError, EventSource, type ChannelOptions, type TransportStats, type PubChannel, type PullChannel, type PushChannel, type SubChannel, type Transport } from '@zinc/core'
import { checkInprocAddress } from './address.js'
import { coreOf, type InprocNetwork } from './network.js'
import type { NetworkCore } from './network-core.js'
import { InprocPubChannel } from './pub-channel.js'
import { InprocPullChannel } from './pull-channel.js'
import { InprocPushChannel } from './push-channel.js'
import { InprocSubChannel } from './sub-channel.js'
import type { ChannelHost, NodeChannel, ResolvedOptions } from './wiring.js'
import { resolveChannelOptions } from '@zinc/core/internal'

/** ZeroMQ's default high-water mark. */
export const DEFAULT_HIGH_WATER_MARK = 1000

/** Events of an `InprocTransport` (`on`, `once`, `off`). */
export type InprocTransportEvents = {
  /** The transport closed: every channel it opened is closed. */
  closed: []
}

/** Options of an `InprocTransport`. */
export interface InprocTransportOptions {
  /** The node (simulated machine) this transport is; default: a fresh `node-<n>`. */
  node?: string
}

/**
 * A `Transport` over an `InprocNetwork`, with ZeroMQ's semantics and nothing more: PUB drops
 * past a subscriber's high-water mark and never waits, PUSH waits while its link is full, order
 * is kept per connection, and a SUB gets only what was published after it subscribed.
 *
 * Delivery happens on a microtask, never inside `send` and never on a timer (unless a delay
 * fault is active). Bodies are passed by reference, not copied: treat a body as immutable once
 * sent, and received frames as read-only (zeromq.js copies; we do not, to stay fast).
 *
 * Connecting to an address nothing is bound to rejects with `AddressNotFoundError` (the registry
 * knows it cannot succeed); a connector whose peer closes or dies keeps its subscriptions and up
 * to its high-water mark of PUSH messages, and re-attaches when something binds that address again.
 */
export class InprocTransport extends EventSource<InprocTransportEvents> implements Transport, AsyncDisposable {
  readonly name = 'inproc'
  readonly canBind = true
  /** The node this transport is; name it in `network.partition()` and `network.kill()`. */
  readonly node: string
  private readonly core: NetworkCore
  private readonly channels = new Set<NodeChannel>()
  private isClosed = false
  private readonly network: InprocNetwork

  constructor(network: InprocNetwork, options: InprocTransportOptions = {}) {
    super()
    this.core = coreOf(network)
    this.network = network
    this.node = options.node ?? network.uniqueNode()
  }

  /** Binds a PULL. Rejects with `AddressInUseError` or `UnsupportedAddressError`. */
  async pull(address: string, options?: ChannelOptions): Promise<PullChannel> {
    return this.open((host) => new InprocPullChannel(host, address, resolve(options)), 'bind')
  }

  /** Binds a PUB. Rejects with `AddressInUseError` or `UnsupportedAddressError`. */
  async pub(address: string, options?: ChannelOptions): Promise<PubChannel> {
    return this.open((host) => new InprocPubChannel(host, address, resolve(options)), 'bind')
  }

  /** Connects a PUSH. Rejects with `AddressNotFoundError`, `ConnectError` or `UnsupportedAddressError`. */
  async push(address: string, options?: ChannelOptions): Promise<PushChannel> {
    return this.open((host) => new InprocPushChannel(host, address, resolve(options)), 'connect')
  }

  /** Connects a SUB. Rejects with `AddressNotFoundError`, `ConnectError` or `UnsupportedAddressError`. */
  async sub(address: string, options?: ChannelOptions): Promise<SubChannel> {
    return this.open((host) => new InprocSubChannel(host, address, resolve(options)), 'connect')
  }

  /**
   * The counters in the shape every transport shares. They are the whole network's (every
   * transport of one `InprocNetwork` shares them); `network.stats()` has the fault counters too.
   */
  stats(): TransportStats {
    const s = this.network.stats()
    return { sent: s.sent, received: s.received, droppedByHwm: s.droppedByHwm, droppedTooLarge: s.droppedTooLarge, malformed: s.malformed }
  }

  /** Closes every channel this transport opened. Idempotent. */
  async close(): Promise<void> {
    if (this.isClosed) return
    this.isClosed = true
    await Promise.allSettled([...this.channels].map((channel) => channel.close()))
    this.events.emit('closed')
  }

  /** `await using transport = new InprocTransport(network)` closes it. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  private open<T extends InprocPullChannel | InprocPubChannel | InprocPushChannel | InprocSubChannel>(make: (host: ChannelHost) => T, how: 'bind' | 'connect'): T {
    if (this.isClosed) throw new ClosedError(`InprocTransport of node ${this.node}`)
    let channel: T | undefined
    const host: ChannelHost = {
      core: this.core,
      node: this.node,
      id: this.core.nextId(),
      released: () => {
        if (!channel) return
        this.core.forget(channel)
        this.channels.delete(channel)
      },
    }
    channel = make(host)
    checkInprocAddress(channel.address)
    if (this.core.isKilled(this.node)) {
      // A dead node's new channels are dead too: they take no address and reach nobody.
      channel.kill()
    } else if (how === 'bind') {
      this.core.bind(channel as InprocPullChannel | InprocPubChannel)
    } else {
      this.core.connect(channel as InprocPushChannel | InprocSubChannel)
    }
    this.core.register(channel)
    this.channels.add(channel)
    return channel
  }
}

function resolve(options: ChannelOptions = {}): ResolvedOptions {
  const { highWaterMark, maxMessageBytes } = resolveChannelOptions(options, { highWaterMark: DEFAULT_HIGH_WATER_MARK })
  return { highWaterMark, maxMessageBytes }
}
