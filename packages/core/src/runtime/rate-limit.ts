/** How much traffic one child may send: a token bucket, refilled continuously. */
export interface RateLimit {
  /** Sustained messages per second. */
  perSecond: number
  /** Messages allowed in a burst above the sustained rate. */
  burst: number
}

/**
 * A token bucket per sender. A parent throttles each child's changes, presence and
 * application messages, so one runaway or hostile child (a tab sending 10,000 changes a
 * second) cannot flood the root and everyone else; its own changes stay pending and are
 * resent, so a throttled honest child loses nothing.
 */
export class TokenBucket {
  #tokens: number
  #at: number

  constructor(
    readonly limit: RateLimit,
    now = Date.now(),
  ) {
    this.#tokens = limit.burst
    this.#at = now
  }

  take(now = Date.now()): boolean {
    this.#tokens = Math.min(this.limit.burst, this.#tokens + ((now - this.#at) / 1000) * this.limit.perSecond)
    this.#at = now
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }
}
