import type { Frames } from '@zinc/core'
import { Fifo } from '@zinc/core/internal'
import type { LinkReceiver, NetworkCoreApi } from './wiring.js'

/** Who is at either end of a link and how much it may hold. */
export interface LinkSpec {
  /** Identifies the link's PRNG stream: stable for a given sequence of operations. */
  key: string
  /** Sending node. */
  from: string
  /** Receiving node. */
  to: string
  /** Messages held (in flight + ready): sender's plus receiver's high-water mark, as ZeroMQ's two pipes. */
  capacity: number
  /** Receiver's `maxMessageBytes`. */
  maxMessageBytes: number
}

interface InFlight {
  frames: Frames
  readyAt: number
}

/**
 * One connection between a sender and a receiver: the in-process stand-in for a TCP stream
 * plus ZeroMQ's pipes on both sides. Faults are decided when a message enters; order is kept
 * (delayed messages hold back the ones behind them).
 */
export class Link {
  private readonly ready = new Fifo<Frames>()
  private readonly wire = new Fifo<InFlight>()
  private timer: ReturnType<typeof setTimeout> | undefined
  private isClosed = false
  private lastReadyAt = 0

  constructor(
    private readonly core: NetworkCoreApi,
    readonly spec: LinkSpec,
    private readonly receiver: LinkReceiver,
    /** Called when the receiver takes a message, so a waiting sender can continue. */
    private readonly onTaken?: () => void,
  ) {}

  get closed(): boolean {
    return this.isClosed
  }

  /** Messages the link holds, counted against its capacity. */
  get size(): number {
    return this.ready.length + this.wire.length
  }

  hasRoom(): boolean {
    return this.size < this.spec.capacity
  }

  /**
   * Puts a message on the link. `dropWhenFull` is the PUB behaviour; a PUSH checks `hasRoom`
   * first and waits instead. The fault decision is drawn before anything else so the PRNG
   * stream depends only on what was sent, not on how fast the receiver reads.
   */
  offer(frames: Frames, dropWhenFull: boolean): void {
    if (this.isClosed) return
    const { key, from, to } = this.spec
    const counters = this.core.counters
    const fault = this.core.decide(key, from, to)
    counters.sent++
    if (this.core.severed(from, to)) {
      counters.droppedByPartition++
      return
    }
    if (byteLength(frames) > this.spec.maxMessageBytes) {
      counters.droppedTooLarge++
      return
    }
    if (fault.drop) {
      counters.droppedByFault++
      return
    }
    if (dropWhenFull && !this.hasRoom()) {
      counters.droppedByHwm++
      return
    }
    this.enqueue(frames, fault.delayMs)
    if (fault.duplicate) {
      counters.duplicated++
      // A separate array, so a receiver that consumes one copy's frames does not empty the other.
      this.enqueue([...frames], fault.delayMs)
    }
  }

  /** The next ready message, if any. */
  take(): Frames | undefined {
    const frames = this.ready.shift()
    if (frames) {
      this.core.counters.delivered++
      this.core.counters.received++
      this.onTaken?.()
    }
    return frames
  }

  /** Drops everything the link holds; later offers are ignored. */
  close(): void {
    this.isClosed = true
    this.ready.clear()
    this.wire.clear()
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
  }

  private enqueue(frames: Frames, delayMs: number): void {
    if (delayMs > 0) this.core.counters.delayed++
    // Anything behind a delayed message waits for it: one connection never reorders.
    if (delayMs > 0 || this.wire.length > 0) {
      // readyAt never decreases along the wire, so the last one bounds every earlier entry.
      const readyAt = Math.max(performance.now() + delayMs, this.lastReadyAt)
      this.lastReadyAt = readyAt
      this.wire.push({ frames, readyAt })
      if (!this.timer) this.schedule()
      return
    }
    this.ready.push(frames)
    this.receiver.notify()
  }

  private schedule(): void {
    const head = this.wire.peek()
    if (!head) return
    this.timer = setTimeout(() => this.flush(), Math.max(0, head.readyAt - performance.now()))
  }

  private flush(): void {
    this.timer = undefined
    if (this.isClosed) return
    const now = performance.now()
    const { from, to } = this.spec
    let first = true
    // The timer was set for the head; timers may fire a hair early, so the head always goes.
    for (let entry = this.wire.peek(); entry && (first || entry.readyAt <= now); entry = this.wire.peek()) {
      first = false
      this.wire.shift()
      // A partition that started while the message was in flight still eats it.
      if (this.core.severed(from, to)) this.core.counters.droppedByPartition++
      else this.ready.push(entry.frames)
    }
    this.receiver.notify()
    this.schedule()
  }
}

function byteLength(frames: Frames): number {
  let total = 0
  for (const frame of frames) total += frame.byteLength
  return total
}
