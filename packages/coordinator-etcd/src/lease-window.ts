/**
 * When a lease is certainly still valid, on this process's monotonic clock. etcd counts a
 * lease's TTL from when it received the grant or the last keep-alive; we only know when we
 * sent it. The request left before etcd received it, so `sentAt + ttl` is never later than
 * etcd's expiry — measured on etcd's clock. Clock rates drift (and a process can be paused
 * between a check and what it guards), so the window ends `margin` earlier still.
 */
export class LeaseWindow {
  #validUntil = Number.NEGATIVE_INFINITY

  constructor(
    readonly marginMs: (ttlMs: number) => number,
    readonly now: () => number = () => performance.now(),
  ) {}

  /** etcd granted or renewed the lease for `ttlSeconds`, from a request sent at `sentAt`. */
  renewed(sentAt: number, ttlSeconds: number): void {
    const ttlMs = ttlSeconds * 1000
    this.#validUntil = Math.max(this.#validUntil, sentAt + ttlMs - this.marginMs(ttlMs))
  }

  /** The lease is gone (expired, revoked): nothing is certain any more. */
  lost(): void {
    this.#validUntil = Number.NEGATIVE_INFINITY
  }

  get certain(): boolean {
    return this.now() < this.#validUntil
  }

  /** Milliseconds left in the window (negative once it closed). */
  get remainingMs(): number {
    return this.#validUntil - this.now()
  }
}
