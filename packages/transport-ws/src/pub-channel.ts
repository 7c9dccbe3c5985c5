import { ChannelClosedError, InvalidArgumentError, MessageTooLargeError, type PubChannel } from '@zinc/core'
import type { WebSocket } from 'ws'
import { WsBoundChannel, type BindContext, type Connection } from './bound-channel.js'
import { decodeControl, encodePublish, isMalformed, MAX_SUBSCRIPTIONS, MAX_TOPIC_BYTES, SUBPROTOCOL, topicBytes } from './framing.js'
import { LateSubscribers } from './late-subscribers.js'
import type { ChannelLimits } from './options.js'

interface Subscriber {
  readonly ws: WebSocket
  readonly session: string
  readonly prefixes: Set<string>
  /** Messages handed to `ws.send` whose write has not completed yet. */
  inFlight: number
  /** The last `send` that reached it (one that matches two of its prefixes delivers once). */
  lastSend: number
}

/**
 * A bound PUB. It filters by each subscriber's prefixes (sent by the SUB), encodes a message
 * once for all of them, and never waits: a subscriber with `highWaterMark` messages still
 * being written, or more than `highWaterMarkBytes` in its socket, loses the message (counted
 * in `droppedByHwm`), as ZeroMQ drops past a subscriber's high-water mark.
 *
 * A `gated` PUB delivers to a subscriber only the topics its session was admitted to
 * (`admit`), whatever it subscribed to: a peer the endpoint has not let in gets nothing. It
 * also keeps, for a few seconds after an admission, what it publishes to an admitted session
 * that has not subscribed yet, and delivers it when the subscription arrives (see
 * `LateSubscribers`): a peer's HELLO often overtakes its SUB's subscriptions, and its welcome
 * must not be lost to that race.
 */
export class WsPubChannel extends WsBoundChannel implements PubChannel {
  private readonly subscribers = new Map<WebSocket, Subscriber>()
  /**
   * prefix → its subscribers, and how many prefixes there are of each length: a send looks up
   * the few prefixes its topic can have instead of testing every subscriber. An edge with a
   * thousand tabs sends most frames to one of them (`e/<id>`: a welcome, a snapshot, a
   * refusal); testing all thousand per frame made a crowd's joins quadratic.
   */
  private readonly byPrefix = new Map<string, Set<Subscriber>>()
  private readonly prefixLengths = new Map<number, number>()
  private sends = 0
  /** session → admitted topic prefixes (gated only). */
  private readonly admitted = new Map<string, Set<string>>()
  /** session → its subscribers (gated only: to tell whether a send reached the session). */
  private readonly bySession = new Map<string, Set<Subscriber>>()
  private readonly late: LateSubscribers

  constructor(address: string, limits: ChannelLimits, context: BindContext) {
    super(address, SUBPROTOCOL.sub, limits, context)
    this.late = new LateSubscribers(limits.highWaterMarkBytes)
  }

  send(topic: string, body: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new ChannelClosedError(this.address))
    if (body.byteLength > this.limits.maxMessageBytes) {
      return Promise.reject(new MessageTooLargeError(body.byteLength, this.limits.maxMessageBytes))
    }
    const topicFrame = topicBytes(topic)
    if (topicFrame.byteLength > MAX_TOPIC_BYTES) {
      return Promise.reject(new InvalidArgumentError(`A topic may have at most ${MAX_TOPIC_BYTES} UTF-8 bytes, got ${topicFrame.byteLength}.`))
    }
    const send = ++this.sends
    let frame: Uint8Array | undefined
    for (const length of this.prefixLengths.keys()) {
      if (length > topic.length) continue
      const subscribers = this.byPrefix.get(length === topic.length ? topic : topic.slice(0, length))
      if (!subscribers) continue
      for (const subscriber of subscribers) {
        if (subscriber.lastSend === send) continue
        subscriber.lastSend = send
        frame = this.deliver(subscriber, topic, topicFrame, body, frame)
      }
    }
    if (this.late.waiting) this.holdForLate(send, topic, frame ?? encodePublish(topicFrame, body))
    return Promise.resolve()
  }

  /** Keeps the frame for sessions admitted to its topic moments ago that this send did not reach. */
  private holdForLate(send: number, topic: string, frame: Uint8Array): void {
    const now = Date.now()
    for (const session of this.late.sessionsFor(topic, now)) {
      let reached = false
      for (const subscriber of this.bySession.get(session) ?? []) if (subscriber.lastSend === send) reached = true
      if (reached || !this.isAdmitted(session, topic)) continue
      if (this.late.hold(session, topic, frame, now)) this.context.stats.heldForSubscription++
      else this.context.stats.droppedByHwm++
    }
  }

  /** Sends to one subscriber unless gated out or past its high-water mark; returns the frame (encoded once per send). */
  private deliver(subscriber: Subscriber, topic: string, topicFrame: Uint8Array, body: Uint8Array, encoded: Uint8Array | undefined): Uint8Array | undefined {
    const stats = this.context.stats
    if (this.limits.gated && !this.isAdmitted(subscriber.session, topic)) {
      stats.gatedOut++
      return encoded
    }
    if (subscriber.inFlight >= this.limits.highWaterMark || subscriber.ws.bufferedAmount >= this.limits.highWaterMarkBytes) {
      stats.droppedByHwm++
      return encoded
    }
    const frame = encoded ?? encodePublish(topicFrame, body)
    this.write(subscriber, frame)
    return frame
  }

  private write(subscriber: Subscriber, frame: Uint8Array): void {
    subscriber.inFlight++
    // The callback runs once the frame is written to the socket (or failed): a slot frees up.
    subscriber.ws.send(frame, { binary: true }, () => subscriber.inFlight--)
    this.context.stats.sent++
  }

  admit(session: string, prefix: string): void {
    let prefixes = this.admitted.get(session)
    if (!prefixes) this.admitted.set(session, (prefixes = new Set()))
    prefixes.add(prefix)
    // Unless a subscriber of the session already hears it, what follows is kept until one does.
    if (!this.hears(session, prefix)) this.late.admitted(session, prefix, Date.now())
  }

  revoke(session: string, prefix?: string): void {
    if (prefix === undefined) this.admitted.delete(session)
    else this.admitted.get(session)?.delete(prefix)
    this.late.revoked(session, prefix)
  }

  protected connected(ws: WebSocket, connection: Connection): void {
    const subscriber: Subscriber = { ws, session: connection.peer.session, prefixes: new Set(), inFlight: 0, lastSend: 0 }
    this.subscribers.set(ws, subscriber)
    if (!this.limits.gated) return
    let subscribers = this.bySession.get(subscriber.session)
    if (!subscribers) this.bySession.set(subscriber.session, (subscribers = new Set()))
    subscribers.add(subscriber)
  }

  /** Whether a subscriber of `session` is subscribed to all of `prefix` already. */
  private hears(session: string, prefix: string): boolean {
    for (const subscriber of this.bySession.get(session) ?? []) for (const p of subscriber.prefixes) if (prefix.startsWith(p)) return true
    return false
  }

  private isAdmitted(session: string, topic: string): boolean {
    const prefixes = this.admitted.get(session)
    return prefixes !== undefined && matches(prefixes, topic)
  }

  protected message(ws: WebSocket, bytes: Uint8Array): void {
    const subscriber = this.subscribers.get(ws)
    if (!subscriber) return
    const control = decodeControl(bytes)
    if (isMalformed(control)) {
      this.context.stats.malformed++
      return
    }
    if (!control.subscribe) this.unsubscribe(subscriber, control.prefix)
    else if (subscriber.prefixes.has(control.prefix)) return
    else if (subscriber.prefixes.size < MAX_SUBSCRIPTIONS) this.subscribe(subscriber, control.prefix)
    // A client asking for more than that is not a Zinc endpoint: refuse the extra, keep serving.
    else this.context.stats.malformed++
  }

  private subscribe(subscriber: Subscriber, prefix: string): void {
    subscriber.prefixes.add(prefix)
    let subscribers = this.byPrefix.get(prefix)
    if (!subscribers) {
      this.byPrefix.set(prefix, (subscribers = new Set()))
      this.prefixLengths.set(prefix.length, (this.prefixLengths.get(prefix.length) ?? 0) + 1)
    }
    subscribers.add(subscriber)
    if (!this.limits.gated) return
    // What was kept for this session until it subscribed, in the order it was published.
    for (const held of this.late.take(subscriber.session, prefix, Date.now())) {
      if (!this.isAdmitted(subscriber.session, held.topic)) continue
      if (subscriber.inFlight >= this.limits.highWaterMark || subscriber.ws.bufferedAmount >= this.limits.highWaterMarkBytes) this.context.stats.droppedByHwm++
      else this.write(subscriber, held.frame)
    }
  }

  private unsubscribe(subscriber: Subscriber, prefix: string): void {
    if (!subscriber.prefixes.delete(prefix)) return
    const subscribers = this.byPrefix.get(prefix)
    if (!subscribers) return
    subscribers.delete(subscriber)
    if (subscribers.size > 0) return
    this.byPrefix.delete(prefix)
    const left = (this.prefixLengths.get(prefix.length) ?? 1) - 1
    if (left > 0) this.prefixLengths.set(prefix.length, left)
    else this.prefixLengths.delete(prefix.length)
  }

  protected disconnected(ws: WebSocket): void {
    const subscriber = this.subscribers.get(ws)
    this.subscribers.delete(ws)
    if (!subscriber) return
    for (const prefix of [...subscriber.prefixes]) this.unsubscribe(subscriber, prefix)
    const subscribers = this.bySession.get(subscriber.session)
    if (subscribers?.delete(subscriber) && subscribers.size === 0) this.bySession.delete(subscriber.session)
  }

  protected ending(): void {
    this.subscribers.clear()
    this.byPrefix.clear()
    this.prefixLengths.clear()
    this.admitted.clear()
    this.bySession.clear()
    this.late.clear()
  }
}

function matches(prefixes: ReadonlySet<string>, topic: string): boolean {
  for (const prefix of prefixes) if (topic.startsWith(prefix)) return true
  return false
}
