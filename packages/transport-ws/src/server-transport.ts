import type { Server } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import { AddressInUseError, BindError, ClosedError, EventSource, UnsupportedAddressError, type ChannelOptions, type Transport } from '@zinc/core'
import { WebSocket } from 'ws'
import { formatWsAddress, parseWsAddress, WS_SCHEMES, type WsAddress } from './address.js'
import type { BindContext, WsBoundChannel } from './bound-channel.js'
import type { WsTransportEvents } from './connection-state.js'
import { WsConnector } from './connector.js'
import { HttpHost } from './http-host.js'
import { ConnectionGuard, type WsGuardOptions } from './connection-guard.js'
import { channelLimits, resolveWsOptions, type ChannelLimits, type ResolvedWsOptions, type WsTransportOptions } from './options.js'
import { WsPubChannel } from './pub-channel.js'
import { WsPullChannel } from './pull-channel.js'
import type { WsPushChannel } from './push-channel.js'
import { emptyStats, type WsTransportStats } from './stats.js'
import type { WsSubChannel } from './sub-channel.js'
import type { WebSocketFactory, WebSocketLike } from './websocket-like.js'

/** TLS for `wss://` binds when the transport listens itself: PEM key and certificate (chain). */
export interface WsTlsOptions {
  /** The private key, PEM. */
  key: string | Buffer
  /** The certificate (chain), PEM. */
  cert: string | Buffer
}

/** Options of a {@link WsServerTransport}. */
export interface WsServerTransportOptions extends WsTransportOptions, WsGuardOptions {
  /**
   * Serve `wss://` binds over TLS with this key and certificate (the transport listens with
   * `https.createServer`). Alternatives: pass your own `https.Server` as `server`, or terminate
   * TLS at a reverse proxy and bind `ws://127.0.0.1:…` behind it.
   */
  tls?: WsTlsOptions
  /**
   * An HTTP(S) server of the application, already listening, to bind every channel on (one path
   * each), e.g. the one that serves a web page. Binds then take the server's port: the address
   * may say `*`, `0` or that port. The transport never closes this server. Default: the
   * transport listens itself, one server per host and port, shared by the paths bound on it.
   */
  server?: Server | HttpsServer
}

/**
 * The Node side of Zinc's WebSocket transport (on `ws`). `pull` and `pub` bind
 * `ws://host:port/path` (port `*` or `0` picks a free one; several paths may share a port);
 * `push` and `sub` connect, with the same code a browser tab uses, so a Node endpoint can also
 * join a WebSocket parent.
 *
 * Semantics are ZeroMQ's (see `@zinc/core`'s transport contract): a PUB filters on the server
 * and drops per slow subscriber, a PUSH waits at its high-water mark, order is kept per
 * connection, connecting channels reconnect with back-off and restore their subscriptions.
 * Malformed and oversize inbound frames are counted in `stats()` and dropped.
 */
/**
 * Events (`on`, `once`, `off`): `state` whenever a PUSH or SUB channel's connection state
 * changes, `closed` once the transport closed.
 */
export class WsServerTransport extends EventSource<WsTransportEvents> implements Transport, AsyncDisposable {
  readonly name = 'ws'
  readonly canBind = true
  private readonly options: ResolvedWsOptions
  private readonly server: Server | HttpsServer | undefined
  private readonly counters = emptyStats()
  private readonly connector: WsConnector
  /** `host:port` → the host listening there. */
  private readonly hosts = new Map<string, HttpHost>()
  /** `host:port` → a listen in progress on an explicit port, which concurrent binds share. */
  private readonly listening = new Map<string, Promise<HttpHost>>()
  private readonly bound = new Set<WsBoundChannel>()
  private readonly guard: ConnectionGuard
  private readonly tls: WsTlsOptions | undefined
  private isClosed = false

  /** Throws `InvalidArgumentError` for options that cannot work. */
  constructor(options: WsServerTransportOptions = {}) {
    super()
    this.options = resolveWsOptions(options)
    this.server = options.server
    this.tls = options.tls
    this.guard = new ConnectionGuard(options, this.counters)
    const factory: WebSocketFactory = (url, protocol, { maxPayload }) => new WebSocket(url, protocol, { maxPayload, perMessageDeflate: false }) as unknown as WebSocketLike
    this.connector = new WsConnector(this.name, factory, this.options, this.counters, this.events)
  }

  /** Binds a PULL at `ws://host:port/path`. Rejects with `AddressInUseError`, `BindError` or `UnsupportedAddressError`. */
  async pull(address: string, options?: ChannelOptions): Promise<WsPullChannel> {
    return this.bind(address, options, (resolved, limits, context) => new WsPullChannel(resolved, limits, context))
  }

  /** Binds a PUB at `ws://host:port/path`. Rejects like {@link pull}. */
  async pub(address: string, options?: ChannelOptions): Promise<WsPubChannel> {
    return this.bind(address, options, (resolved, limits, context) => new WsPubChannel(resolved, limits, context))
  }

  /**
   * Connects a PUSH to a bound PULL. Resolves once the first connection attempt opened or
   * failed; it then goes on reconnecting in the background, so the peer need not be up yet.
   * Rejects with `UnsupportedAddressError` or `ConnectError`.
   */
  async push(address: string, options?: ChannelOptions): Promise<WsPushChannel> {
    return this.connector.push(address, options)
  }

  /** Connects a SUB to a bound PUB, subscribed to nothing yet. Rejects like {@link push}. */
  async sub(address: string, options?: ChannelOptions): Promise<WsSubChannel> {
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

  /**
   * Closes every channel and every server this transport started (not one given in
   * `options.server`), dropping connections at once. Idempotent; later opens reject with `ClosedError`.
   */
  async close(): Promise<void> {
    if (this.isClosed) return
    this.isClosed = true
    await Promise.allSettled([this.connector.close(), ...[...this.bound].map((channel) => channel.close())])
    this.events.emit('closed')
  }

  private async bind<T extends WsBoundChannel>(address: string, options: ChannelOptions | undefined, make: (resolved: string, limits: ChannelLimits, context: BindContext) => T): Promise<T> {
    if (this.isClosed) throw new ClosedError('The ws transport')
    const parsed = parseWsAddress(address)
    if (!parsed)
      throw new UnsupportedAddressError(
        address,
        this.name,
        WS_SCHEMES.map((s) => `${s}host:port/path`),
      )
    if (parsed.port === undefined) throw new BindError(address, 'a bound address needs a port (use * for any free port)')
    if (parsed.scheme === 'wss' && !this.server && !this.tls) {
      throw new BindError(address, 'binding wss:// needs TLS: pass options.tls ({ key, cert }) or an https.Server in options.server')
    }
    if (parsed.scheme === 'ws' && this.tls && !this.server) {
      throw new BindError(address, 'this transport has options.tls, so it listens with TLS: bind wss:// instead of ws://')
    }
    const limits = channelLimits(this.options, options)
    const host = await this.hostFor(address, parsed)
    if (this.isClosed) throw new ClosedError('The ws transport')
    if (host.has(parsed.path)) throw new AddressInUseError(address)
    const resolved = formatWsAddress({ ...parsed, port: host.port })
    const context: BindContext = {
      host,
      path: parsed.path,
      stats: this.counters,
      guard: this.guard,
      released: (channel) => this.release(channel, host, parsed.path),
    }
    const channel = make(resolved, limits, context)
    host.add(parsed.path, channel)
    this.bound.add(channel)
    return channel
  }

  /** The host for `parsed`'s host and port: shared if this transport already listens there. */
  private async hostFor(address: string, parsed: WsAddress): Promise<HttpHost> {
    if (this.server) {
      const host = this.hosts.get(GIVEN_SERVER) ?? HttpHost.adopt(address, this.server, this.counters)
      if (parsed.port !== 0 && parsed.port !== host.port) {
        throw new BindError(address, `this transport binds on the server given in options.server, which listens on port ${host.port}`)
      }
      this.hosts.set(GIVEN_SERVER, host)
      return host
    }
    const key = `${parsed.host}:${parsed.port}`
    // Port 0 always means a new server; an explicit port may be one we listen on, or start to.
    if (parsed.port !== 0) {
      const existing = this.hosts.get(key) ?? this.listening.get(key)
      if (existing) return existing
    }
    const listening = HttpHost.listen(address, parsed.host, parsed.port!, this.counters, this.tls)
    if (parsed.port !== 0) this.listening.set(key, listening)
    try {
      const host = await listening
      this.hosts.set(`${parsed.host}:${host.port}`, host)
      return host
    } finally {
      if (parsed.port !== 0) this.listening.delete(key)
    }
  }

  private async release(channel: WsBoundChannel, host: HttpHost, path: string): Promise<void> {
    this.bound.delete(channel)
    const closing = host.remove(path)
    // Forget an emptied host at once, so a bind from now on listens anew instead of joining it.
    if (host.empty) for (const [key, value] of this.hosts) if (value === host) this.hosts.delete(key)
    await closing
  }
}

/** The key of the host made from `options.server`. */
const GIVEN_SERVER = 'given-server'
