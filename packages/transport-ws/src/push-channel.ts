import { AbortError, ChannelClosedError, MessageTooLargeError, type PushChannel, type SendOptions } from '@zinc/core'
import { WsClientChannel, type ClientContext } from './client-channel.js'
import { encodeData, SUBPROTOCOL } from './framing.js'
import { Fifo } from '@zinc/core/internal'
import type { ChannelLimits } from './options.js'

interface WaitingSend {
  frame: Uint8Array
  resolve(): void
  reject(error: Error): void
  /** Aborted while it waited: skipped when room opens. */
  aborted?: boolean
}

/**
 * Bytes a PUSH lets sit in its socket's own buffer. Past it, messages wait in the channel's
 * queue (bounded by the high-water mark), so back-pressure reaches the producer instead of
 * filling memory below us.
 */
const SOCKET_BUFFER_BYTES = 1024 * 1024

/** How often a PUSH looks at a full socket buffer again (a WebSocket has no drain event). */
const DRAIN_POLL_MS = 4

/**
 * A connected PUSH. `send` resolves once the message is in the channel's queue, which holds up
 * to `highWaterMark` messages — also while disconnected, as ZeroMQ queues for a reconnect —
 * and stays pending while the queue is full. Messages move from the queue to the socket while
 * its `bufferedAmount` is small, so a PULL that stops reading (it pauses its side of the TCP
 * connection) eventually stalls the sender.
 */
export class WsPushChannel extends WsClientChannel implements PushChannel {
  private readonly queue = new Fifo<Uint8Array>()
  private readonly waiting = new Fifo<WaitingSend>()
  private pollTimer: ReturnType<typeof setTimeout> | undefined

  constructor(address: string, limits: ChannelLimits, context: ClientContext) {
    super(address, 'push', SUBPROTOCOL.push, limits, context)
  }

  send(body: Uint8Array, options?: SendOptions): Promise<void> {
    if (this.closed) return Promise.reject(new ChannelClosedError(this.address))
    const signal = options?.signal
    if (signal?.aborted) return Promise.reject(new AbortError(`send on ${this.address}`))
    if (body.byteLength > this.limits.maxMessageBytes) {
      return Promise.reject(new MessageTooLargeError(body.byteLength, this.limits.maxMessageBytes))
    }
    const frame = encodeData(body)
    if (this.waiting.length === 0 && this.queue.length < this.limits.highWaterMark) {
      this.queue.push(frame)
      this.pump()
      return Promise.resolve()
    }
    return new Promise((resolve, reject) => {
      const send: WaitingSend = { frame, resolve, reject }
      if (signal) {
        const onAbort = () => {
          send.aborted = true
          reject(new AbortError(`send on ${this.address}`))
        }
        signal.addEventListener('abort', onAbort, { once: true })
        send.resolve = () => {
          signal.removeEventListener('abort', onAbort)
          resolve()
        }
      }
      this.waiting.push(send)
    })
  }

  protected opened(): void {
    this.pump()
  }

  protected message(): void {
    // A PULL never sends anything back.
    this.context.stats.malformed++
  }

  protected closing(): void {
    clearTimeout(this.pollTimer)
    this.queue.drain()
    const error = new ChannelClosedError(this.address)
    for (const send of this.waiting.drain()) send.reject(error)
  }

  /** Moves messages into the socket while it has room, and waiting sends into the queue. */
  private pump(): void {
    if (this.closed) return
    for (;;) {
      let moved = false
      while (this.queue.length > 0 && this.socket.isOpen && this.socket.bufferedAmount < SOCKET_BUFFER_BYTES) {
        this.socket.send(this.queue.shift()!)
        this.context.stats.sent++
        moved = true
      }
      while (this.waiting.length > 0 && this.queue.length < this.limits.highWaterMark) {
        const send = this.waiting.shift()!
        if (send.aborted) continue
        this.queue.push(send.frame)
        send.resolve()
        moved = true
      }
      if (!moved) break
    }
    if (this.queue.length > 0 && this.socket.isOpen && this.pollTimer === undefined) {
      this.pollTimer = setTimeout(() => {
        this.pollTimer = undefined
        this.pump()
      }, DRAIN_POLL_MS)
    }
  }
}
