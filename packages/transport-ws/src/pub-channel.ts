import { ChannelClosedError, InvalidArgumentError, MessageTooLargeError, type PubChannel } from '@zinc/core'
import type { WebSocket } from 'ws'
import { WsBoundChannel, type BindContext, type Connection } from './bound-channel.js'
import { decodeControl, encodePublish, isMalformed, MAX_SUBSCRIPTIONS, MAX_TOPIC_BYTES, SUBPROTOCOL, topicBytes } from './framing.js'
import type { ChannelLimits } from './options.js'

interface Subscriber {
  readonly ws: WebSocket
  readonly session: string
  readonly prefixes: Set<string>
  /** Messages handed to `ws.send` whose write has not completed yet. */
  inFlight: number
}

/**
 * A bound PUB. It filters by each subscriber's prefixes (sent by the SUB), encodes a message
 * once for all of them, and never waits: a subscriber with `highWaterMark` messages still
 * being written, or more than `highWaterMarkBytes` in its socket, loses the message (counted
 * in `droppedByHwm`), as ZeroMQ drops past a subscriber's high-water mark.
 *
 * A `gated` PUB delivers to a subscriber only the topics its session was admitted to
 * (`admit`), whatever it subscribed to: a peer the endpoint has not let in gets nothing.
 */
export class WsPubChannel extends WsBoundChannel implements PubChannel {
  private readonly subscribers = new Map<WebSocket, Subscriber>()
  /** session → admitted topic prefixes (gated only). */
  private readonly admitted = new Map<string, Set<string>>()

  constructor(address: string, limits: ChannelLimits, context: BindContext) {
    super(address, SUBPROTOCOL.sub, limits, context)
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
    const stats = this.context.stats
    let frame: Uint8Array | undefined
    for (const subscriber of this.subscribers.values()) {
      if (!matches(subscriber.prefixes, topic)) continue
      if (this.limits.gated && !this.isAdmitted(subscriber.session, topic)) {
        stats.gatedOut++
        continue
      }
      if (subscriber.inFlight >= this.limits.highWaterMark || subscriber.ws.bufferedAmount >= this.limits.highWaterMarkBytes) {
        stats.droppedByHwm++
        continue
      }
      frame ??= encodePublish(topicFrame, body)
      subscriber.inFlight++
      // The callback runs once the frame is written to the socket (or failed): a slot frees up.
      subscriber.ws.send(frame, { binary: true }, () => subscriber.inFlight--)
      stats.sent++
    }
    return Promise.resolve()
  }

  admit(session: string, prefix: string): void {
    let prefixes = this.admitted.get(session)
    if (!prefixes) this.admitted.set(session, (prefixes = new Set()))
    prefixes.add(prefix)
  }

  revoke(session: string, prefix?: string): void {
    if (prefix === undefined) this.admitted.delete(session)
    else this.admitted.get(session)?.delete(prefix)
  }

  protected connected(ws: WebSocket, connection: Connection): void {
    this.subscribers.set(ws, { ws, session: connection.peer.session, prefixes: new Set(), inFlight: 0 })
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
    if (!control.subscribe) subscriber.prefixes.delete(control.prefix)
    else if (subscriber.prefixes.size < MAX_SUBSCRIPTIONS) subscriber.prefixes.add(control.prefix)
    // A client asking for more than that is not a Zinc endpoint: refuse the extra, keep serving.
    else this.context.stats.malformed++
  }

  protected disconnected(ws: WebSocket): void {
    this.subscribers.delete(ws)
  }

  protected ending(): void {
    this.subscribers.clear()
    this.admitted.clear()
  }
}

function matches(prefixes: ReadonlySet<string>, topic: string): boolean {
  for (const prefix of prefixes) if (topic.startsWith(prefix)) return true
  return false
}
