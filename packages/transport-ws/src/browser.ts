/**
 * @zinc/transport-ws/browser — the WebSocket transport for a browser tab. It uses the global
 * `WebSocket` and imports nothing from Node, so it bundles for the browser as is.
 *
 * A browser tab cannot listen, so this transport only connects (`push`, `sub`): an endpoint on
 * it is a leaf that joins a Node endpoint whose `WsServerTransport` bound `ws://` addresses.
 */
import { ConnectError, EventSource, InvalidArgumentError, type ChannelOptions, type PubChannel, type PullChannel, type Transport } from '@zinc/core'
import type { WsTransportEvents } from './connection-state.js'
import { WsConnector } from './connector.js'
import { resolveWsOptions, type WsTransportOptions } from './options.js'
import type { WsPushChannel } from './push-channel.js'
import { emptyStats, type WsTransportStats } from './stats.js'
import type { WsSubChannel } from './sub-channel.js'
import type { WebSocketConstructor, WebSocketFactory, WebSocketLike } from './websocket-like.js'

export type { ConnectionState, ConnectionStateChange, WsTransportEvents } from './connection-state.js'
export { WS_DEFAULTS, type WsTransportOptions } from './options.js'
export type { WsTransportStats } from './stats.js'
export type { WsPushChannel } from './push-channel.js'
export type { WsSubChannel } from './sub-channel.js'
export type { WsClientChannel, StateListener } from './client-channel.js'
export type { WebSocketConstructor } from './websocket-like.js'

/** Options of a {@link WsClientTransport}. */
export interface WsClientTransportOptions extends WsTransportOptions {
  /**
   * The WebSocket constructor. Default: the global `WebSocket`. Pass one where there is none
   * (Node 20) or to instrument it, e.g. `WebSocket` from the `ws` package in tests.
   */
  WebSocket?: WebSocketConstructor
}

/**
 * A `Transport` that only connects, over WebSocket: `push` and `sub` to addresses a
 * `WsServerTransport` bound. `pull` and `pub` reject, because a browser tab cannot listen.
 *
 * Connections come back after they drop (exponential back-off with jitter), subscriptions are
 * sent again and up to `highWaterMark` PUSH messages wait meanwhile; `on('state', …)` reports
 * `connected`, `reconnecting` and `closed`, e.g. for a "reconnecting…" badge.
 */
export class WsClientTransport extends EventSource<WsTransportEvents> implements Transport, AsyncDisposable {
  readonly name = 'ws'
  readonly canBind = false
  private readonly connector: WsConnector
  private readonly counters = emptyStats()
  private readonly Native: WebSocketConstructor | undefined
  private isClosed = false

  /** Throws `InvalidArgumentError` for options that cannot work. */
  constructor(options: WsClientTransportOptions = {}) {
    super()
    const resolved = resolveWsOptions(options)
    this.Native = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
    const Native = this.Native
    // The browser's WebSocket cannot cap message size up front; the SUB checks on arrival.
    const factory: WebSocketFactory = (url, protocol) => new Native!(url, protocol) as WebSocketLike
    this.connector = new WsConnector('ws (browser)', factory, resolved, this.counters, this.events)
  }

  /** Always rejects: a browser tab can only connect. Bind on a Node endpoint and join it. */
  async pull(address: string, _options?: ChannelOptions): Promise<PullChannel> {
    throw cannotBind(address, 'PULL')
  }

  /** Always rejects: a browser tab can only connect. Bind on a Node endpoint and join it. */
  async pub(address: string, _options?: ChannelOptions): Promise<PubChannel> {
    throw cannotBind(address, 'PUB')
  }

  /**
   * Connects a PUSH to a bound PULL (`ws://host:port/path`). Resolves once the first connection
   * attempt opened or failed; it then goes on reconnecting in the background. Rejects with
   * `UnsupportedAddressError`, or `ConnectError` when there is no WebSocket.
   */
  async push(address: string, options?: ChannelOptions): Promise<WsPushChannel> {
    this.checkWebSocket(address)
    return this.connector.push(address, options)
  }

  /** Connects a SUB to a bound PUB, subscribed to nothing yet. Rejects like {@link push}. */
  async sub(address: string, options?: ChannelOptions): Promise<WsSubChannel> {
    this.checkWebSocket(address)
    return this.connector.sub(address, options)
  }

  /** A snapshot of the transport's counters. */
  stats(): WsTransportStats {
    return { ...this.counters, droppedTooLarge: this.counters.tooLarge }
  }

  /** `await using transport = …` closes it. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  /** Closes every channel; later calls reject with `ClosedError`. Idempotent. */
  async close(): Promise<void> {
    if (this.isClosed) return
    this.isClosed = true
    await this.connector.close()
    this.events.emit('closed')
  }

  private checkWebSocket(address: string): void {
    if (!this.Native) {
      throw new ConnectError(address, 'there is no global WebSocket here; pass options.WebSocket, or use WsServerTransport in Node')
    }
  }
}

function cannotBind(address: string, pattern: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `Cannot bind a ${pattern} at ${address}: a browser tab cannot listen, it can only connect (push, sub). ` +
      'Bind the address on a Node endpoint (WsServerTransport) and start this endpoint with `join` only.',
  )
}
