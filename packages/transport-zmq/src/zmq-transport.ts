import { Context, Dealer, Publisher, Router, Subscriber, context as globalContext, type Socket } from 'zeromq'
import { AddressInUseError, BindError, ClosedError, ConnectError, EventSource, InvalidArgumentError } from '@zinc/core'
import type { ChannelOptions, Transport } from '@zinc/core'
import { resolveChannelOptions } from '@zinc/core/internal'
import { RELEASE_WAIT_MS, assertIpcPathFree, clearReleased, isReleasedHere, markReleased, schemeOf } from './address.js'
import { routingIdFor } from './connections.js'
import { ZmqChannel, ZmqPubChannel, ZmqPullChannel, ZmqPushChannel, ZmqSubChannel, type ChannelHooks } from './channels.js'
import { validateServerKey } from './curve.js'
import { InprocRebind } from './inproc-rebind.js'
import { watchHandshakes, type ChannelKind, type HandshakeFailure } from './handshake-monitor.js'
import { checkChannelOptions, resolveOptions, type ResolvedOptions, type ZmqConnectOptions, type ZmqTransportOptions } from './options.js'
import { emptyStats, type ZmqTransportStats } from './stats.js'
import { ZapHandler, type ZapDecision } from './zap-handler.js'

/** A connection the ZAP handler refused. */
export type AuthRefusal = Omit<ZapDecision, 'admitted'>

/** Events of a {@link ZmqTransport} and their arguments; listeners run on a microtask. */
export type ZmqTransportEvents = {
  /** The ZAP handler refused a client (unknown key, no CURVE). */
  'auth-refused': [refusal: AuthRefusal]
  /** A security handshake failed on one of this transport's sockets (either side). */
  'handshake-failed': [failure: HandshakeFailure]
  /** The transport closed: every channel it opened is closed. */
  closed: []
}

let nextZapDomain = 0

/**
 * The ZeroMQ transport (zeromq.js v6): tcp://, ipc:// and inproc://, with optional CURVE
 * encryption and a ZAP allow-list of client keys.
 *
 * `pull` and `pub` bind, `push` and `sub` connect. Each sending socket has one bounded
 * queue in front of it and each receiving socket one reader loop, because zeromq.js allows
 * one send and one receive in flight per socket. Every socket lingers 0 ms by default, so
 * `close()` never holds the process open.
 */
export class ZmqTransport extends EventSource<ZmqTransportEvents> implements Transport {
  readonly name = 'zmq'
  readonly canBind = true
  /** The ZeroMQ context of every socket this transport makes. */
  readonly context: Context

  readonly #options: ResolvedOptions
  readonly #stats = emptyStats()
  // Each open channel, with what to undo when it closes.
  readonly #channels = new Map<ZmqChannel, () => void>()
  readonly #hooks: ChannelHooks
  readonly #zapDomain = `zinc-${process.pid}-${nextZapDomain++}`
  #zap: Promise<() => void> | undefined
  #closed = false

  /** Throws `InvalidArgumentError` for malformed options or keys. */
  constructor(options: ZmqTransportOptions = {}) {
    super()
    this.#options = resolveOptions(options)
    // A curve transport gets a context of its own so that its ZAP handler answers only for it.
    this.context = options.context ?? (options.curve !== undefined ? new Context({ blocky: false }) : globalContext)
    this.#hooks = { stats: this.#stats, onClose: (channel) => this.#forget(channel) }
  }

  /**
   * Binds a PULL channel (a ROUTER socket: see {@link ZmqPullChannel}). Rejects with
   * `AddressInUseError`, `BindError` or `UnsupportedAddressError`.
   */
  async pull(address: string, options?: ChannelOptions): Promise<ZmqPullChannel> {
    const bound = await this.#bind('pull', address, options, (o) => routerFor(o))
    return this.#track(new ZmqPullChannel(bound.socket, bound.address, this.#hooks), bound.release)
  }

  /** Binds a PUB channel. Rejects with `AddressInUseError`, `BindError` or `UnsupportedAddressError`. */
  async pub(address: string, options?: ChannelOptions): Promise<ZmqPubChannel> {
    const bound = await this.#bind('pub', address, options, (o) => new Publisher(o))
    return this.#track(new ZmqPubChannel(bound.socket, bound.address, this.#hooks, this.#queueLimit(options)), bound.release)
  }

  /**
   * Connects a PUSH channel (a DEALER socket whose routing id comes from `options.session`);
   * the peer need not be bound yet (ZeroMQ connects in the background and reconnects).
   * Rejects with `ConnectError` or `UnsupportedAddressError`.
   */
  async push(address: string, options?: ZmqConnectOptions): Promise<ZmqPushChannel> {
    const routingId = routingIdFor(options?.session)
    const socket = this.#connect('push', address, options, (o) => new Dealer({ ...o, routingId }))
    const channel = new ZmqPushChannel(socket, address, this.#hooks, this.#queueLimit(options))
    // A PUSH may connect again to an inproc address whose binder came back.
    const release = this.#onInprocRebind(address, () => {
      try {
        socket.disconnect(address)
      } catch {
        // libzmq may already have dropped the dead endpoint; connecting again is what matters.
      }
      socket.connect(address)
    })
    return this.#track(channel, release)
  }

  /** Connects a SUB channel, subscribed to nothing yet. Rejects like {@link push}. */
  async sub(address: string, options?: ZmqConnectOptions): Promise<ZmqSubChannel> {
    const create = () => this.#connect('sub', address, options, (o) => new Subscriber(o))
    const channel = new ZmqSubChannel(create(), address, this.#hooks)
    // libzmq lets a SUB socket connect to an endpoint once, so it gets a fresh socket instead.
    const release = this.#onInprocRebind(address, () => channel.replaceSocket(create()))
    return this.#track(channel, release)
  }

  /** A snapshot of the transport's counters. */
  stats(): ZmqTransportStats {
    return { ...this.#stats, droppedByHwm: this.#stats.dropped }
  }

  /** Closes every channel and the ZAP handler. Idempotent; later channel requests reject. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    // Best effort: one channel failing to close must not keep the others (or ZAP) open.
    for (const channel of [...this.#channels.keys()]) {
      try {
        await channel.close()
      } catch {
        // The socket is gone either way; nothing else to release for it.
      }
    }
    const zap = this.#zap
    this.#zap = undefined
    if (zap !== undefined) {
      try {
        ;(await zap)()
      } catch {
        // The handler never started, so there is nothing to stop.
      }
    }
    this.events.emit('closed')
  }

  /** `await using transport = new ZmqTransport()` closes it. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  async #bind<S extends Socket>(
    kind: ChannelKind,
    address: string,
    options: ChannelOptions | undefined,
    create: (options: Record<string, unknown>) => S,
  ): Promise<{ socket: S; address: string; release: () => void }> {
    this.#assertOpen()
    const scheme = schemeOf(address)
    checkChannelOptions(options)
    if (scheme === 'ipc') await assertIpcPathFree(address)
    const server = this.#options.curve?.server
    if (server !== undefined) await this.#startZap()
    this.#assertOpen()
    const socket = create({
      ...this.#socketOptions(kind, options),
      // Children connect in bursts (a crowd arriving, a whole subtree re-joining after a
      // failover): libzmq's default queue of 100 pending connections overflows, and every
      // connection the kernel drops waits out TCP's 1 s, 3 s, 7 s retries. The kernel caps it
      // at net.core.somaxconn (4096 here).
      backlog: LISTEN_BACKLOG,
      ...(server !== undefined ? { curveServer: true, curveSecretKey: server.secretKey, curvePublicKey: server.publicKey, zapDomain: this.#zapDomain } : {}),
    })
    const inproc = scheme === 'inproc' ? InprocRebind.of(this.context) : undefined
    try {
      await bindSocket(socket, address, inproc)
    } catch (err) {
      socket.close()
      if ((err as { code?: unknown }).code === 'EADDRINUSE') throw new AddressInUseError(address)
      throw new BindError(address, err)
    }
    const resolved = socket.lastEndpoint ?? address
    watchHandshakes(socket, kind, resolved, (failure) => this.#handshakeFailed(failure))
    if (inproc !== undefined) inproc.bound(resolved)
    else clearReleased(resolved)
    return { socket, address: resolved, release: () => (inproc !== undefined ? inproc.unbound(resolved) : markReleased(resolved)) }
  }

  #connect<S extends Socket>(kind: ChannelKind, address: string, options: ZmqConnectOptions | undefined, create: (options: Record<string, unknown>) => S): S {
    this.#assertOpen()
    schemeOf(address)
    checkChannelOptions(options)
    const client = this.#options.curve?.client
    let curve: Record<string, unknown> = {}
    if (client !== undefined) {
      const serverKey = options?.serverPublicKey ?? client.serverPublicKey
      if (serverKey === undefined) {
        throw new InvalidArgumentError(`Connecting ${address} with CURVE needs the server's public key: set curve.client.serverPublicKey or pass { serverPublicKey } to ${kind}().`)
      }
      validateServerKey(serverKey)
      curve = { curveServerKey: serverKey, curvePublicKey: client.publicKey, curveSecretKey: client.secretKey }
    }
    const socket = create({ ...this.#socketOptions(kind, options), ...curve })
    // Watch before connecting, so the first handshake's failure is not missed.
    watchHandshakes(socket, kind, address, (failure) => this.#handshakeFailed(failure))
    try {
      socket.connect(address)
    } catch (err) {
      socket.close()
      throw new ConnectError(address, err)
    }
    return socket
  }

  #onInprocRebind(address: string, reconnect: () => void): () => void {
    if (schemeOf(address) !== 'inproc') return () => {}
    return InprocRebind.of(this.context).connected(address, reconnect)
  }

  #socketOptions(kind: ChannelKind, options: ChannelOptions | undefined): Record<string, unknown> {
    const o = this.#options
    const limits = resolveChannelOptions(options, o)
    // libzmq takes ZeroMQ's own form: 0 for "no limit", and no maxMessageSize for none.
    const highWaterMark = limits.rawHighWaterMark
    const maxMessageBytes = Number.isFinite(limits.maxMessageBytes) ? limits.maxMessageBytes : undefined
    return {
      context: this.context,
      linger: o.lingerMs,
      // Each pattern only has the high-water mark of its own direction.
      ...(kind === 'push' || kind === 'pub' ? { sendHighWaterMark: highWaterMark } : { receiveHighWaterMark: highWaterMark }),
      reconnectInterval: o.reconnectIntervalMs,
      reconnectMaxInterval: o.reconnectMaxMs,
      ...(maxMessageBytes !== undefined ? { maxMessageSize: maxMessageBytes } : {}),
    }
  }

  #queueLimit(options: ChannelOptions | undefined): number {
    // ZeroMQ reads a high-water mark of 0 as "no limit"; the queue follows.
    return resolveChannelOptions(options, this.#options).highWaterMark
  }

  #startZap(): Promise<() => void> {
    const allowed = this.#options.curve?.server?.allowedClientKeys
    this.#zap ??= ZapHandler.register(this.context, this.#zapDomain, {
      allowedClientKeys: allowed === undefined ? undefined : new Set(allowed),
      onDecision: (decision) => this.#zapDecided(decision),
    })
    // A failed start is retried by the next bind rather than cached forever.
    this.#zap.catch(() => (this.#zap = undefined))
    return this.#zap
  }

  #zapDecided({ admitted, ...refusal }: ZapDecision): void {
    if (admitted) {
      this.#stats.authAccepted++
      return
    }
    this.#stats.authRefused++
    this.#options.logger?.warn({ transport: 'zmq', ...refusal }, `refused a connection: ${refusal.reason}`)
    this.events.emit('auth-refused', refusal)
  }

  #handshakeFailed(failure: HandshakeFailure): void {
    this.#stats.handshakeFailures++
    this.#options.logger?.warn({ transport: 'zmq', ...failure }, `security handshake failed: ${failure.reason}`)
    this.events.emit('handshake-failed', failure)
  }

  #track<C extends ZmqChannel>(channel: C, release: () => void): C {
    this.#channels.set(channel, release)
    this.#stats.channelsOpen++
    // The transport may have closed while this channel was being bound.
    if (this.#closed) void channel.close()
    return channel
  }

  #forget(channel: ZmqChannel): void {
    const release = this.#channels.get(channel)
    if (release === undefined) return
    this.#channels.delete(channel)
    this.#stats.channelsOpen--
    release()
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError('This ZmqTransport')
  }
}

/** ZMQ_ROUTER_NOTIFY (a libzmq draft option, built into zeromq.js v6): connect | disconnect. */
const ROUTER_NOTIFY = 97
const NOTIFY_CONNECT_AND_DISCONNECT = 3

/**
 * ZMTP heartbeats of a PULL's connections: a peer whose host vanished (no FIN, no RST) is
 * dropped after this long, so its session stops counting as connected and its id is free for
 * its next incarnation (libzmq answers pings itself; only a stopped process misses them, and
 * its DEALER reconnects under the same routing id when it runs again).
 */
/** Pending connections a bound socket's listen queue holds (see #bind). */
const LISTEN_BACKLOG = 4096

const HEARTBEAT_MS = 5_000
const HEARTBEAT_TIMEOUT_MS = 30_000

/**
 * The socket behind a PULL channel. A ROUTER rather than a PULL, because only a ROUTER says
 * which connection each message came on (its routing id): that is what lets an endpoint bind
 * a child's id to the connection it said HELLO on. `handover`: a DEALER reconnecting with its
 * routing id replaces its old connection at once, even one libzmq has not yet seen die.
 * `mandatory` with no send timeout: a probe of a routing id fails at once, with EHOSTUNREACH
 * when no connection has it (see `Connections`).
 */
function routerFor(options: Record<string, unknown>): Router {
  const router = new Router({
    ...options,
    handover: true,
    mandatory: true,
    sendTimeout: 0,
    heartbeatInterval: HEARTBEAT_MS,
    heartbeatTimeout: HEARTBEAT_TIMEOUT_MS,
  })
  try {
    // zeromq.js has no named option for it, only its (protected) raw setter.
    ;(router as unknown as { setInt32Option(option: number, value: number): void }).setInt32Option(ROUTER_NOTIFY, NOTIFY_CONNECT_AND_DISCONNECT)
  } catch {
    // A libzmq built without drafts: disconnects are then found only by probing (isConnected).
  }
  return router
}

/**
 * Binds, retrying for a while an address whose previous socket (ours, closed) is still being
 * released by libzmq's reaper thread.
 */
async function bindSocket(socket: Socket, address: string, inproc: InprocRebind | undefined): Promise<void> {
  const deadline = Date.now() + RELEASE_WAIT_MS
  for (;;) {
    try {
      await socket.bind(address)
      return
    } catch (err) {
      const ours = inproc !== undefined ? inproc.isBeingReleased(address) : isReleasedHere(address)
      if (!ours || (err as { code?: unknown }).code !== 'EADDRINUSE' || Date.now() > deadline) throw err
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }
}
