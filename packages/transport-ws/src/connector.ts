import { ClosedError, ConnectError, UnsupportedAddressError, type ChannelOptions, type TypedEmitter } from '@zinc/core'
import { parseWsAddress, WS_SCHEMES } from './address.js'
import type { ClientContext, WsClientChannel } from './client-channel.js'
import type { WsTransportEvents } from './connection-state.js'
import { channelLimits, type ResolvedWsOptions } from './options.js'
import { WsPushChannel } from './push-channel.js'
import type { WsTransportStats } from './stats.js'
import { WsSubChannel } from './sub-channel.js'
import type { WebSocketFactory } from './websocket-like.js'

/**
 * The connecting half of a WebSocket transport (PUSH and SUB), the same in a browser and in
 * Node: only the WebSocket factory differs.
 */
export class WsConnector {
  private readonly channels = new Set<WsClientChannel>()
  private readonly context: ClientContext
  private isClosed = false

  constructor(
    private readonly transportName: string,
    factory: WebSocketFactory,
    options: ResolvedWsOptions,
    stats: WsTransportStats,
    events: TypedEmitter<WsTransportEvents>,
  ) {
    this.context = { factory, options, stats, events, released: (channel) => this.channels.delete(channel) }
  }

  /**
   * A PUSH, once its first connection attempt opened or failed (it then goes on retrying in the
   * background). Waiting for the attempt keeps a caller's clock honest: an endpoint times its
   * hello retries from here, and hellos queued behind a slow handshake (a thousand tabs
   * connecting at once) would all go out together and each be answered.
   */
  async push(address: string, options?: ChannelOptions): Promise<WsPushChannel> {
    const channel = this.track(new WsPushChannel(this.check(address), channelLimits(this.context.options, options), this.context))
    await channel.firstAttempt
    return channel
  }

  /** A SUB, once its first connection attempt opened or failed (see {@link push}). */
  async sub(address: string, options?: ChannelOptions): Promise<WsSubChannel> {
    const channel = this.track(new WsSubChannel(this.check(address), channelLimits(this.context.options, options), this.context))
    await channel.firstAttempt
    return channel
  }

  /** Closes every channel made here. Idempotent. */
  async close(): Promise<void> {
    this.isClosed = true
    await Promise.allSettled([...this.channels].map((channel) => channel.close()))
  }

  private track<T extends WsClientChannel>(channel: T): T {
    this.channels.add(channel)
    return channel.start()
  }

  private check(address: string): string {
    if (this.isClosed) throw new ClosedError(`The ${this.transportName} transport`)
    const parsed = parseWsAddress(address)
    if (!parsed)
      throw new UnsupportedAddressError(
        address,
        this.transportName,
        WS_SCHEMES.map((s) => `${s}host:port/path`),
      )
    if (parsed.port === 0) {
      throw new ConnectError(address, 'port * or 0 only makes sense when binding; connect to the address the bound channel reports')
    }
    return address
  }
}
