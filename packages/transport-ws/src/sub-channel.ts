import { ChannelClosedError, InvalidArgumentError, type SubChannel } from '@zinc/core'
import { WsClientChannel, type ClientContext } from './client-channel.js'
import { decodePublish, encodeControl, hasPrefix, isMalformed, MAX_TOPIC_BYTES, SUBPROTOCOL, topicBytes } from './framing.js'
import { AsyncQueue } from '@zinc/core/internal'
import type { ChannelLimits } from './options.js'

/**
 * A connected SUB. The PUB filters by the subscriptions this channel sends it (as ZeroMQ over
 * tcp does); they are sent again on every reconnect, so they survive a publisher's restart.
 * The SUB filters once more on arrival, so nothing unsubscribed is delivered once
 * `unsubscribe` returned. Past `highWaterMark` unread messages it drops (counted), as a
 * ZeroMQ SUB at its receive high-water mark.
 */
export class WsSubChannel extends WsClientChannel implements SubChannel {
  /** prefix → count: ZeroMQ counts subscriptions, so two subscribes need two unsubscribes. */
  private readonly subscriptions = new Map<string, number>()
  private filters: Uint8Array[] = []
  private readonly inbound = new AsyncQueue<Uint8Array[]>()

  constructor(address: string, limits: ChannelLimits, context: ClientContext) {
    super(address, 'sub', SUBPROTOCOL.sub, limits, context)
  }

  subscribe(prefix: string): void {
    if (this.closed) throw new ChannelClosedError(this.address, 'subscribe')
    const bytes = checkedPrefix(prefix)
    const count = this.subscriptions.get(prefix) ?? 0
    this.subscriptions.set(prefix, count + 1)
    if (count === 0) this.changed(true, bytes)
  }

  unsubscribe(prefix: string): void {
    if (this.closed) throw new ChannelClosedError(this.address, 'unsubscribe')
    const count = this.subscriptions.get(prefix)
    if (count === undefined) return
    if (count > 1) {
      this.subscriptions.set(prefix, count - 1)
      return
    }
    this.subscriptions.delete(prefix)
    this.changed(false, topicBytes(prefix))
  }

  /** The frames received, in order, until the channel closes. */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array[], undefined> {
    return this.inbound[Symbol.asyncIterator]()
  }

  protected opened(): void {
    for (const prefix of this.subscriptions.keys()) this.socket.send(encodeControl(true, topicBytes(prefix)))
  }

  protected message(bytes: Uint8Array): void {
    const stats = this.context.stats
    const decoded = decodePublish(bytes)
    if (isMalformed(decoded)) {
      stats.malformed++
      return
    }
    // A browser cannot cap a WebSocket message's size up front, so the limit is checked here too.
    if (decoded.body.byteLength > this.limits.maxMessageBytes) {
      stats.tooLarge++
      return
    }
    if (!this.filters.some((prefix) => hasPrefix(decoded.topic, prefix))) return
    if (this.inbound.length >= this.limits.highWaterMark) {
      stats.droppedByHwm++
      return
    }
    stats.received++
    this.inbound.push([decoded.topic, decoded.body], undefined)
  }

  protected closing(): void {
    this.inbound.end()
  }

  private changed(subscribe: boolean, prefix: Uint8Array): void {
    this.filters = [...this.subscriptions.keys()].map(topicBytes)
    // While disconnected the change waits for `opened`, which sends the whole set.
    if (this.socket.isOpen) this.socket.send(encodeControl(subscribe, prefix))
  }
}

function checkedPrefix(prefix: string): Uint8Array {
  if (typeof prefix !== 'string') throw new InvalidArgumentError(`A subscription prefix must be a string, got ${typeof prefix}.`)
  const bytes = topicBytes(prefix)
  if (bytes.byteLength > MAX_TOPIC_BYTES) {
    throw new InvalidArgumentError(`A subscription prefix may have at most ${MAX_TOPIC_BYTES} UTF-8 bytes, got ${bytes.byteLength}.`)
  }
  return bytes
}
