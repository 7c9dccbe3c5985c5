/** A token bucket: `rate` tokens a second, at most `burst` saved up. */
export class TokenBucket {
  #tokens: number
  #last = performance.now()

  constructor(
    readonly rate: number,
    readonly burst: number,
  ) {
    this.#tokens = burst
  }

  /** Takes `n` tokens if there are enough; false (and nothing taken) otherwise. */
  take(n = 1): boolean {
    const now = performance.now()
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.rate)
    this.#last = now
    if (this.#tokens < n) return false
    this.#tokens -= n
    return true
  }
}

/** Calls `fn` at most every `ms`, always with the latest arguments (trailing call kept). */
export function throttle<A extends unknown[]>(ms: number, fn: (...args: A) => void): (...args: A) => void {
  let last = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  let pending: A | undefined
  const run = () => {
    timer = undefined
    last = performance.now()
    const args = pending!
    pending = undefined
    fn(...args)
  }
  return (...args: A) => {
    pending = args
    if (timer) return
    const wait = ms - (performance.now() - last)
    if (wait <= 0) run()
    else timer = setTimeout(run, wait)
  }
}
