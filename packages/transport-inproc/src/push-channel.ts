import { AbortError, ChannelClosedError, type Frames, type PushChannel, type SendOptions } from '@zinc/core'
import { Fifo } from '@zinc/core/internal'
import type { Link } from './link.js'
import type { BoundChannel, ChannelHost, Connector, ResolvedOptions } from './wiring.js'

interface PendingSend {
  frames: Frames
  resolve(): void
  reject(error: Error): void
  /** Aborted while it waited: skipped when room opens. */
  aborted?: boolean
}

/**
 * A connected PUSH. While attached, `send` resolves once the message is on the link and waits
 * while the link is full. While its PULL is gone, up to `highWaterMark` messages wait here for
 * a new PULL on the same address, as ZeroMQ queues for a reconnect.
 */
export class InprocPushChannel implements PushChannel, Connector {
  readonly kind = 'push'
  private link: Link | undefined
  private peer: BoundChannel | undefined
  private readonly backlog = new Fifo<Frames>()
  private readonly pending = new Fifo<PendingSend>()
  private isClosed = false
  private isDead = false

  constructor(
    readonly host: ChannelHost,
    readonly address: string,
    readonly options: ResolvedOptions,
  ) {}

  get closed(): boolean {
    return this.isClosed
  }

  /** @internal */
  get dead(): boolean {
    return this.isDead
  }

  send(body: Uint8Array, options?: SendOptions): Promise<void> {
    if (this.isClosed) return Promise.reject(new ChannelClosedError(this.address))
    const signal = options?.signal
    if (signal?.aborted) return Promise.reject(new AbortError(`send on ${this.address}`))
    if (this.isDead) {
      this.host.core.counters.droppedByPartition++
      return Promise.resolve()
    }
    if (this.pending.length === 0 && this.hasRoom()) {
      this.put([body])
      return Promise.resolve()
    }
    return new Promise((resolve, reject) => {
      const send: PendingSend = { frames: [body], resolve, reject }
      if (signal) {
        const onAbort = () => {
          send.aborted = true
          reject(new AbortError(`send on ${this.address}`))
        }
        signal.addEventListener('abort', onAbort, { once: true })
        send.resolve = () => (signal.removeEventListener('abort', onAbort), resolve())
      }
      this.pending.push(send)
    })
  }

  /** @internal Moves waiting sends into the room that opened up. */
  drain(): void {
    while (this.pending.length > 0 && this.hasRoom()) {
      const send = this.pending.shift()
      if (!send) return
      if (send.aborted) continue
      this.put(send.frames)
      send.resolve()
    }
  }

  /** @internal */
  attach(link: Link, peer: BoundChannel): void {
    this.link = link
    this.peer = peer
    // The link was sized for both sides, so the whole backlog fits.
    for (const frames of this.backlog.drain()) link.offer(frames, false)
    this.drain()
  }

  /** @internal */
  detached(): void {
    this.link = undefined
    this.peer = undefined
    this.drain()
  }

  /** @internal */
  kill(): void {
    this.isDead = true
    this.leave()
    // Sends of a dead node vanish; resolve them so nothing on that node hangs.
    for (const send of this.pending.drain()) {
      this.host.core.counters.droppedByPartition++
      send.resolve()
    }
  }

  async close(): Promise<void> {
    if (this.isClosed) return
    this.isClosed = true
    this.leave()
    const error = new ChannelClosedError(this.address)
    for (const send of this.pending.drain()) send.reject(error)
    this.host.released()
  }

  private leave(): void {
    if (this.link && this.peer) this.peer.release(this.link)
    this.link = undefined
    this.peer = undefined
    this.backlog.clear()
    this.host.core.unpark(this)
  }

  private hasRoom(): boolean {
    return this.link ? this.link.hasRoom() : this.backlog.length < this.options.highWaterMark
  }

  private put(frames: Frames): void {
    if (this.link) this.link.offer(frames, false)
    else this.backlog.push(frames)
  }
}
