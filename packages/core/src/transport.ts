/**
 * The Transport contract: the one seam between Zinc and the wire.
 *
 * Zinc needs exactly four ZeroMQ socket patterns. Every implementation (in-process, ZeroMQ,
 * WebSocket) promises only what ZeroMQ itself promises, so code written and tested against
 * the in-process transport keeps working on a real network:
 *
 * - Nothing is delivered twice by the transport itself, but anything may be lost: a PUB drops
 *   past a subscriber's high-water mark, a peer that dies loses what was queued for it, and a
 *   SUB misses everything published before its subscription reached the publisher.
 * - Order is kept per connection (one PUSH to one PULL, one PUB to one SUB); there is no order
 *   between different connections feeding the same PULL.
 * - A PUB never blocks. A PUSH waits (its `send` promise stays pending) while its queue is at
 *   the high-water mark, which is how back-pressure reaches a producer.
 * - A connecting channel (`push`, `sub`) may be created before its peer is bound and
 *   reconnects after the peer restarts; an implementation may instead reject an address it
 *   knows cannot exist (the in-process registry does).
 *
 * Frames are `Uint8Array`s. A PUB/SUB message is `[topic, body]`; a PUSH/PULL message is
 * `[body]`. Receivers yield whatever frames arrived, so a listener must validate the count.
 */

/** One message on the wire: its frames, in order. */
export type Frames = Uint8Array[]

/**
 * Who sent a message, as far as the transport can tell (WebSocket: the session in the URL;
 * ZeroMQ: the routing id its ROUTER reads). A transport that cannot tell (the in-process one)
 * leaves it out, and the endpoint falls back to what frames claim.
 */
export interface PeerIdentity {
  /**
   * The connecting peer: the same for every connection of one peer's PUSH and SUB (they present
   * the same `session`, see {@link ChannelOptions.session}), across reconnects; never shared
   * with another peer. A peer that presents no session gets one per connection.
   */
  readonly session: string
  /** The remote IP address, for logs and per-address decisions. */
  readonly remoteAddress?: string
  /** The `Origin` header of a browser's connection, when there is one. */
  readonly origin?: string
}

/** Frames as a bound PULL yields them: with the sender's identity when the transport knows it. */
export type ReceivedFrames = Frames & {
  /** Who sent it; absent when the transport cannot tell. */
  readonly peer?: PeerIdentity
}

/** Options common to every channel. Omitted values take the implementation's defaults. */
export interface ChannelOptions {
  /**
   * Messages queued per connection before the channel drops (PUB) or waits (PUSH).
   * ZeroMQ's default is 1000.
   */
  highWaterMark?: number
  /** Largest accepted message in bytes; larger inbound messages are dropped by the transport. */
  maxMessageBytes?: number
  /**
   * Connecting channels (`push`, `sub`): a secret that ties one peer's PUSH and SUB together,
   * so the bound side can tell they are the same peer (WebSocket sends it with each connection,
   * a ZeroMQ PUSH presents it as its routing id; use at least 128 random bits). Transports that
   * cannot carry it ignore it.
   */
  session?: string
  /**
   * A bound PUB: deliver to a subscriber only the topics its session was admitted to with
   * {@link PubChannel.admit}, whatever it subscribed to. Default false (deliver by subscription).
   * Transports that cannot tell subscribers apart ignore it (their `admit` is absent).
   */
  gated?: boolean
}

interface Channel {
  /**
   * The resolved address: a bound channel reports the real port or name
   * (`tcp://127.0.0.1:*` becomes `tcp://127.0.0.1:40001`); a connected one its peer's address.
   */
  readonly address: string
  /** True once `close()` was called or the transport shut the channel. */
  readonly closed: boolean
  /**
   * Closes the channel without lingering: queued outbound messages are discarded, receiving
   * iterators end, later `send` calls reject with `ChannelClosedError`. Idempotent.
   */
  close(): Promise<void>
}

/** A channel that receives. Iterating ends (returns) when the channel closes. */
export interface ReceiveChannel extends Channel, AsyncIterable<Frames> {}

/**
 * Bound inbound channel: many PUSH channels connect to it; fair-queued, order per sender.
 * Yields {@link ReceivedFrames}: `peer` is set when the transport knows the sender.
 */
export interface PullChannel extends ReceiveChannel {
  /**
   * Whether a connection of `session` is open now. Only transports that set `peer` have it;
   * an endpoint uses it to let an id move to a new session once its old one is gone.
   */
  isConnected?(session: string): boolean
}

/** Options of {@link PushChannel.send}. */
export interface SendOptions {
  /**
   * Gives up waiting for room: the send rejects with `AbortError`. Its message is not sent,
   * unless the transport had already handed it to its network library (a ZeroMQ socket at its
   * high-water mark cannot take a message back): then it may still arrive, once. A send that
   * already resolved is not affected.
   */
  signal?: AbortSignal
}

/** Connected outbound channel to one PULL. */
export interface PushChannel extends Channel {
  /**
   * Queues `body` for the peer. Resolves once queued (not delivered); stays pending while the
   * queue is at its high-water mark; rejects with `ChannelClosedError` after `close()`, with
   * `AbortError` when `options.signal` aborts before there was room.
   */
  send(body: Uint8Array, options?: SendOptions): Promise<void>
}

/** Bound outbound channel: fan-out to every connected SUB whose subscription prefixes match. */
export interface PubChannel extends Channel {
  /**
   * Publishes `[topic, body]` to every matching subscriber. Never waits for a slow subscriber:
   * past its high-water mark that subscriber loses the message. Rejects with
   * `ChannelClosedError` after `close()`.
   */
  send(topic: string, body: Uint8Array): Promise<void>
  /**
   * On a `gated` PUB: lets subscribers of `session` receive topics starting with `prefix`.
   * Absent on transports that cannot tell subscribers apart.
   */
  admit?(session: string, prefix: string): void
  /** Takes back one admitted prefix, or every one of `session` when `prefix` is omitted. */
  revoke?(session: string, prefix?: string): void
}

/** Connected inbound channel from one PUB. Receives nothing until it subscribes. */
export interface SubChannel extends ReceiveChannel {
  /**
   * Receive messages whose topic starts with `prefix` (`''` means everything). Throws
   * `ChannelClosedError` after `close()`.
   */
  subscribe(prefix: string): void
  /** Stop receiving `prefix`; messages already in flight may still arrive. Throws `ChannelClosedError` after `close()`. */
  unsubscribe(prefix: string): void
}

/**
 * Counters every transport keeps, summed over its channels: the same shape for each, so an
 * endpoint reports what it lost on the wire whatever carries it (`endpoint.stats().wire`).
 * A transport adds its own counters next to these.
 */
export interface TransportStats {
  /** Messages handed to the wire by PUSH and PUB channels. */
  sent: number
  /** Messages handed to PULL and SUB channels' readers. */
  received: number
  /** Messages lost to a high-water mark: a PUB's slow subscriber, a full queue. */
  droppedByHwm: number
  /** Inbound messages over `maxMessageBytes`, dropped. */
  droppedTooLarge: number
  /** Inbound frames that failed the transport's own validation, dropped. */
  malformed: number
}

/** A factory of channels. One transport instance may serve many endpoints. */
export interface Transport {
  /** A short name for logs: `inproc`, `zmq`, `ws`. */
  readonly name: string
  /** Binds an inbound PULL channel. Rejects with `AddressInUseError` or `BindError`. */
  pull(address: string, options?: ChannelOptions): Promise<PullChannel>
  /** Binds an outbound PUB channel. Rejects with `AddressInUseError` or `BindError`. */
  pub(address: string, options?: ChannelOptions): Promise<PubChannel>
  /** Connects a PUSH channel to a bound PULL. May reject with `AddressNotFoundError`. */
  push(address: string, options?: ChannelOptions): Promise<PushChannel>
  /** Connects a SUB channel to a bound PUB. May reject with `AddressNotFoundError`. */
  sub(address: string, options?: ChannelOptions): Promise<SubChannel>
  /** Whether this transport can bind (a browser WebSocket client cannot: it is a leaf only). */
  readonly canBind: boolean
  /** Releases what the transport itself holds (contexts, servers). Idempotent. */
  close?(): Promise<void>
  /** A snapshot of the transport's counters (every Zinc transport has it). */
  stats?(): TransportStats
}
