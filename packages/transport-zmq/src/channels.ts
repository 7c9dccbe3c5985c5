import type { Dealer, Publisher, Router, Socket, Subscriber } from 'zeromq'
import { AbortError, ChannelClosedError } from '@zinc/core'
import type { Frames, PeerIdentity, PubChannel, PullChannel, PushChannel, ReceivedFrames, SendOptions, SubChannel } from '@zinc/core'
import { Connections } from './connections.js'
import { SocketReader } from './socket-reader.js'
import type { ZmqTransportStats } from './stats.js'
import { WriterQueue } from './writer-queue.js'

/** The empty frame in front of an empty PUSH message (see `ZmqPushChannel`). */
const DELIMITER = new Uint8Array(0)

/** What every channel shares with the transport that made it. */
export interface ChannelHooks {
  /** The transport's counters, updated in place. */
  readonly stats: ZmqTransportStats
  /** Called once when the channel closes, so the transport forgets it. */
  onClose(channel: ZmqChannel): void
}

/** The parts common to the four channels: the address, and a close that cannot hang. */
export abstract class ZmqChannel {
  /** The resolved address (the real port of a bound `tcp://…:*`). */
  readonly address: string
  protected socket: Socket
  protected readonly hooks: ChannelHooks
  #closed = false

  protected constructor(socket: Socket, address: string, hooks: ChannelHooks) {
    this.socket = socket
    this.address = address
    this.hooks = hooks
  }

  /** True once `close()` was called or the transport closed. */
  get closed(): boolean {
    return this.#closed
  }

  /**
   * Closes the socket at once (linger 0): queued messages are discarded, iterators end, later
   * sends reject with `ChannelClosedError`. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve()
    this.#closed = true
    this.beforeClose()
    // zeromq.js ends pending receives, the socket's iterator and its monitor on close().
    this.socket.close()
    this.hooks.onClose(this)
    return Promise.resolve()
  }

  /** `await using channel = …` closes it. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  /** Lets a subclass stop its queue before the socket goes. */
  protected beforeClose(): void {}

  protected closedError(): ChannelClosedError {
    return new ChannelClosedError(this.address)
  }
}

/**
 * A bound PULL channel: a ROUTER socket, so that every message says which connection it came
 * on. Iterate it to receive `[body]` messages, each with `peer.session` (the connection's
 * routing id, the same across a DEALER's reconnects); iteration ends on close.
 */
export class ZmqPullChannel extends ZmqChannel implements PullChannel {
  readonly #reader: SocketReader
  readonly #connections: Connections

  /** @internal Made by `ZmqTransport.pull`. */
  constructor(socket: Router, address: string, hooks: ChannelHooks) {
    super(socket, address, hooks)
    this.#connections = new Connections(socket)
    this.#reader = new SocketReader(socket, (frames) => this.#take(frames))
  }

  /** The frames received, in order per connection, until the channel closes. */
  [Symbol.asyncIterator](): AsyncIterator<ReceivedFrames, undefined> {
    return this.#reader.iterator()
  }

  /** Whether a connection with this session (routing id) is open now, as far as is known. */
  isConnected(session: string): boolean {
    return this.#connections.isConnected(session)
  }

  protected override beforeClose(): void {
    this.#connections.close()
  }

  #take(frames: Frames): ReceivedFrames | undefined {
    const [routingId, first] = frames
    if (routingId === undefined || first === undefined) return undefined
    // ROUTER_NOTIFY: a connection came or went (or the peer sent a lone empty frame itself).
    if (frames.length === 2 && first.byteLength === 0) return void this.#connections.notified(routingId)
    this.hooks.stats.received++
    // An empty frame in front of others is a delimiter (a Zinc PUSH's empty message, a foreign
    // DEALER's envelope); what follows is whatever frames arrived.
    // In place (no copy), as this runs for every message.
    frames.shift()
    if (first.byteLength === 0) frames.shift()
    const received = frames as Frames & { peer?: PeerIdentity }
    received.peer = this.#connections.identify(routingId)
    return received
  }
}

/** A connected SUB channel. Receives nothing until `subscribe`; yields `[topic, body]`. */
export class ZmqSubChannel extends ZmqChannel implements SubChannel {
  readonly #reader: SocketReader
  #subscriber: Subscriber
  // Prefix → times subscribed (ZeroMQ counts them too), so a replacement socket gets them all.
  readonly #prefixes = new Map<string, number>()

  /** @internal Made by `ZmqTransport.sub`. */
  constructor(socket: Subscriber, address: string, hooks: ChannelHooks) {
    super(socket, address, hooks)
    this.#subscriber = socket
    this.#reader = new SocketReader(socket, (frames) => {
      hooks.stats.received++
      return frames
    })
  }

  /** The frames received, in order, until the channel closes. */
  [Symbol.asyncIterator](): AsyncIterator<Frames, undefined> {
    return this.#reader.iterator()
  }

  /** Receive messages whose topic starts with `prefix` (`''` is everything). */
  subscribe(prefix: string): void {
    if (this.closed) throw new ChannelClosedError(this.address, 'subscribe')
    this.#subscriber.subscribe(prefix)
    this.#prefixes.set(prefix, (this.#prefixes.get(prefix) ?? 0) + 1)
  }

  /** Stop receiving `prefix`; messages already in flight may still arrive. */
  unsubscribe(prefix: string): void {
    if (this.closed) throw new ChannelClosedError(this.address, 'unsubscribe')
    this.#subscriber.unsubscribe(prefix)
    const count = (this.#prefixes.get(prefix) ?? 0) - 1
    if (count > 0) this.#prefixes.set(prefix, count)
    else this.#prefixes.delete(prefix)
  }

  /**
   * @internal Moves the channel to a fresh, already connected socket, keeping its
   * subscriptions and its readers (used when an inproc publisher is bound again).
   */
  replaceSocket(socket: Subscriber): void {
    if (this.closed) {
      socket.close()
      return
    }
    for (const [prefix, count] of this.#prefixes) for (let i = 0; i < count; i++) socket.subscribe(prefix)
    const old = this.#subscriber
    this.#subscriber = socket
    this.socket = socket
    this.#reader.replace(socket)
    old.close()
  }
}

/**
 * A connected PUSH channel: a DEALER socket, presenting one routing id on every connection
 * (see `routingIdFor`). A message is `[body]`; an empty one goes as `[empty, empty]`, because a
 * lone empty frame is what the bound ROUTER's own connect and disconnect notices look like.
 * `send` waits while the queue in front of the socket is full.
 */
export class ZmqPushChannel extends ZmqChannel implements PushChannel {
  readonly #queue: WriterQueue<Frames>

  /**
   * @internal Made by `ZmqTransport.push`.
   * @param queueLimit messages held in front of the socket before `send` waits.
   */
  constructor(socket: Dealer, address: string, hooks: ChannelHooks, queueLimit: number) {
    super(socket, address, hooks)
    this.#queue = new WriterQueue<Frames>(socket, {
      capacity: queueLimit,
      onSent: () => hooks.stats.sent++,
      onError: () => hooks.stats.sendErrors++,
    })
  }

  /**
   * Queues `body`. Resolves once ZeroMQ took it (queued, not delivered); stays pending while
   * the socket and the queue in front of it are full; rejects with `ChannelClosedError` after
   * close, or if close discards it.
   */
  send(body: Uint8Array, options?: SendOptions): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError())
    return this.#queue.put(
      body.byteLength === 0 ? [DELIMITER, body] : [body],
      () => this.closedError(),
      options?.signal,
      () => new AbortError(`send on ${this.address}`),
    )
  }

  protected override beforeClose(): void {
    this.#queue.close()
  }
}

/** A bound PUB channel. `send` never waits: past a full queue the message is dropped and counted. */
export class ZmqPubChannel extends ZmqChannel implements PubChannel {
  readonly #queue: WriterQueue<Frames>
  #dropped = 0
  // The last topic's bytes: an endpoint publishes on a handful of topics (a document's, its
  // own), so most sends repeat the previous one and need not encode it again. ZeroMQ only reads
  // the frame, and nothing here writes to it, so one buffer serves every send.
  #topic = ''
  #topicBytes = Buffer.alloc(0)

  /**
   * @internal Made by `ZmqTransport.pub`.
   * @param queueLimit messages held in front of the socket before `send` drops.
   */
  constructor(socket: Publisher, address: string, hooks: ChannelHooks, queueLimit: number) {
    super(socket, address, hooks)
    this.#queue = new WriterQueue<Frames>(socket, {
      capacity: queueLimit,
      onSent: () => hooks.stats.sent++,
      onError: () => hooks.stats.sendErrors++,
    })
  }

  /** Messages this channel dropped because its queue was full. */
  get dropped(): number {
    return this.#dropped
  }

  /**
   * Publishes `[topic, body]`. Never waits for a subscriber: it resolves once ZeroMQ took the
   * message (at most one event-loop turn, since a PUB socket never blocks), or at once if the
   * queue in front of the socket is full and the message was dropped and counted. Rejects
   * with `ChannelClosedError` after close.
   */
  send(topic: string, body: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError())
    if (topic !== this.#topic) {
      this.#topic = topic
      this.#topicBytes = Buffer.from(topic)
    }
    const queued = this.#queue.offer([this.#topicBytes, body])
    if (queued !== undefined) return queued
    this.#dropped++
    this.hooks.stats.dropped++
    return Promise.resolve()
  }

  protected override beforeClose(): void {
    this.#queue.close()
  }
}
