import type { Clock, TimerHandle } from '../runtime/clock.js'

interface Scheduled {
  id: number
  at: number
  fn: () => void
  every: number
}

/**
 * A clock that moves only when told to: `advance(ms)` fires every timer due, in time order
 * (ties in the order they were set), letting promises settle between timers. With the
 * in-process transport this makes a failover replay the same way on every run.
 *
 * ```ts
 * const clock = new FakeClock()
 * const host = await Endpoint.start({ transport, clock, bind })
 * await clock.advance(2_000)
 * ```
 */
export class FakeClock implements Clock {
  #now: number
  #nextId = 1
  readonly #timers = new Map<number, Scheduled>()

  constructor(start = 1_000_000) {
    this.#now = start
  }

  now(): number {
    return this.#now
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.#add(fn, ms, 0)
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.#add(fn, ms, Math.max(1, ms))
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle) this.#timers.delete(handle.timer as number)
  }

  clearInterval(handle: TimerHandle | undefined): void {
    this.clearTimeout(handle)
  }

  /** Timers still scheduled. */
  get pending(): number {
    return this.#timers.size
  }

  /**
   * Moves time forward by `ms` in steps of at most `stepMs`, firing due timers in order and
   * letting the I/O they cause (in-process messages, promise chains) settle after each one.
   */
  async advance(ms: number, stepMs = 5): Promise<void> {
    const end = this.#now + ms
    while (this.#now < end) {
      const stepEnd = Math.min(end, this.#now + stepMs)
      for (;;) {
        const due = this.#nextDue(stepEnd)
        if (!due) break
        this.#now = Math.max(this.#now, due.at)
        if (due.every > 0) due.at += due.every
        else this.#timers.delete(due.id)
        due.fn()
        await settle()
      }
      this.#now = stepEnd
      await settle()
    }
  }

  #nextDue(limit: number): Scheduled | undefined {
    let best: Scheduled | undefined
    for (const t of this.#timers.values()) if (t.at <= limit && (!best || t.at < best.at || (t.at === best.at && t.id < best.id))) best = t
    return best
  }

  #add(fn: () => void, ms: number, every: number): TimerHandle {
    const id = this.#nextId++
    this.#timers.set(id, { id, at: this.#now + Math.max(0, ms), fn, every })
    return { timer: id }
  }
}

/** Lets microtasks and already-queued macrotasks (in-process deliveries) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}
