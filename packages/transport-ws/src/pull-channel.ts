import type { Frames, PeerIdentity, PullChannel } from '@zinc/core'
import type { WebSocket } from 'ws'
import { WsBoundChannel, type BindContext, type Connection } from './bound-channel.js'
import { decodeData, isMalformed, SUBPROTOCOL } from './framing.js'
import { AsyncQueue } from '@zinc/core/internal'
import type { ChannelLimits } from './options.js'

interface Peer {
  readonly ws: WebSocket
  readonly identity: PeerIdentity
  /** Messages of this connection still in the queue, and their bytes. */
  queued: number
  queuedBytes: number
  paused: boolean
}

/**
 * A bound PULL. Messages of all connections go into one queue in arrival order, which keeps
 * order per sender. A connection with `highWaterMark` unread messages is paused (its TCP
 * window fills, its PUSH's socket buffer grows and that PUSH's `send` starts to wait) and
 * resumed once the reader took some: back-pressure, not memory, as with ZeroMQ.
 *
 * Every message it yields carries `peer`: the session of the connection it came on (see
 * `ReceivedFrames`), which is what lets an endpoint bind a child's id to its connection.
 */
export class WsPullChannel extends WsBoundChannel implements PullChannel {
  private readonly peers = new Map<WebSocket, Peer>()
  private readonly inbound = new AsyncQueue<Frames, Peer>((peer, frames) => this.taken(peer, frames))

  constructor(address: string, limits: ChannelLimits, context: BindContext) {
    super(address, SUBPROTOCOL.push, limits, context)
  }

  /** The frames received, in order, until the channel closes. */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array[], undefined> {
    return this.inbound[Symbol.asyncIterator]()
  }

  protected connected(ws: WebSocket, connection: Connection): void {
    this.peers.set(ws, { ws, identity: connection.peer, queued: 0, queuedBytes: 0, paused: false })
  }

  protected message(ws: WebSocket, bytes: Uint8Array): void {
    const peer = this.peers.get(ws)
    if (!peer) return
    const body = decodeData(bytes)
    if (isMalformed(body)) {
      this.context.stats.malformed++
      return
    }
    if (body.byteLength > this.limits.maxMessageBytes) {
      this.context.stats.tooLarge++
      return
    }
    this.context.stats.received++
    peer.queued++
    peer.queuedBytes += body.byteLength
    this.inbound.push(Object.assign([body], { peer: peer.identity }), peer)
    // Bounded in bytes as well as messages: a thousand 16 MB messages must not sit in memory.
    if ((peer.queued >= this.limits.highWaterMark || peer.queuedBytes >= this.limits.highWaterMarkBytes) && !peer.paused) {
      peer.paused = true
      ws.pause()
    }
  }

  protected disconnected(ws: WebSocket): void {
    // What it sent and we queued stays readable, as ZeroMQ keeps received messages.
    this.peers.delete(ws)
  }

  protected ending(): void {
    this.inbound.end()
    this.peers.clear()
  }

  private taken(peer: Peer, frames: Frames): void {
    peer.queued--
    peer.queuedBytes -= frames[0]?.byteLength ?? 0
    // Resume at half the marks, so a reader one message behind does not toggle it per message.
    if (peer.paused && peer.queued <= this.limits.highWaterMark / 2 && peer.queuedBytes <= this.limits.highWaterMarkBytes / 2) {
      peer.paused = false
      peer.ws.resume()
    }
  }
}
