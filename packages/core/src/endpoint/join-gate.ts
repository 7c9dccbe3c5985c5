import { keepAlive, type Clock, type TimerHandle } from '../runtime/clock.js'
import { TokenBucket } from '../runtime/rate-limit.js'

/** How fast a parent admits new children (`EndpointOptions.joinLimit`). */
export interface JoinLimit {
  /** New children admitted per second, sustained. */
  perSecond: number
  /** Admitted at once above the sustained rate. */
  burst: number
  /** Joins waiting beyond that; more are refused with `ERR_BUSY` and a time to try again. */
  queue: number
}

export type JoinVerdict = { admit: true } | { admit: false; queued: true } | { admit: false; queued: false; retryAfterMs: number }

/**
 * Admission of new children, so a thousand joins in one second are absorbed: up to `burst` at
 * once and `perSecond` after that; the rest wait in a queue (first come, first served; a
 * joiner saying hello again while it waits keeps its place) and are admitted as the rate
 * allows; past `queue` waiting, a joiner is told to try again after about the time the queue
 * takes to drain. Children already joined are never held here: their hellos, heartbeats and
 * changes go straight through, so members' sync and liveness do not wait behind newcomers.
 */
export class JoinGate {
  readonly #bucket: TokenBucket
  readonly #waiting = new Map<string, () => void>()
  #timer: TimerHandle | undefined
  #closed = false

  constructor(
    readonly limit: JoinLimit,
    readonly clock: Clock,
  ) {
    this.#bucket = new TokenBucket({ perSecond: limit.perSecond, burst: limit.burst }, clock.now())
  }

  /** Joins waiting for their turn. */
  get waiting(): number {
    return this.#waiting.size
  }

  /** A hello from `id`, not a child yet: admit it now, queue `admit` for later, or refuse. */
  offer(id: string, admit: () => void): JoinVerdict {
    if (this.#waiting.has(id)) {
      // Said hello again while waiting: the newest hello is the one answered.
      this.#waiting.set(id, admit)
      return { admit: false, queued: true }
    }
    if (this.#waiting.size === 0 && this.#bucket.take(this.clock.now())) return { admit: true }
    if (this.#waiting.size >= this.limit.queue) return { admit: false, queued: false, retryAfterMs: this.#drainMs() }
    this.#waiting.set(id, admit)
    this.#schedule()
    return { admit: false, queued: true }
  }

  close(): void {
    this.#closed = true
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer)
    this.#timer = undefined
    this.#waiting.clear()
  }

  /** About how long the queue takes to drain at the sustained rate (at least a second). */
  #drainMs(): number {
    return Math.max(1000, Math.ceil((this.#waiting.size / this.limit.perSecond) * 1000))
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#closed) return
    // Wake when about one token is back (at least every 10 ms, so a burst drains in steps).
    const ms = Math.max(10, Math.ceil(1000 / this.limit.perSecond))
    // Joiners waiting keep the process alive (see keepAlive): in one process on the in-process
    // transport, nothing else might, and the queued joins would never end.
    this.#timer = keepAlive(
      this.clock.setTimeout(() => {
        this.#timer = undefined
        this.#drain()
      }, ms),
    )
  }

  #drain(): void {
    const now = this.clock.now()
    for (const [id, admit] of this.#waiting) {
      if (!this.#bucket.take(now)) break
      this.#waiting.delete(id)
      admit()
    }
    if (this.#waiting.size > 0) this.#schedule()
  }
}
