/**
 * Time as the endpoint sees it. Every timer and timestamp of the endpoint's liveness,
 * succession and fencing goes through one Clock, so a test can replace it with a fake one and
 * replay a failover step by step, the same way every run (see `FakeClock` in the test suite).
 */
export interface Clock {
  /** Milliseconds, monotonic enough for timeouts (wall time by default). */
  now(): number
  /** Calls `fn` once after `ms`. */
  setTimeout(fn: () => void, ms: number): TimerHandle
  /** Cancels a `setTimeout` (undefined is ignored). */
  clearTimeout(handle: TimerHandle | undefined): void
  /** Calls `fn` every `ms`. */
  setInterval(fn: () => void, ms: number): TimerHandle
  /** Cancels a `setInterval` (undefined is ignored). */
  clearInterval(handle: TimerHandle | undefined): void
}

/** An opaque timer id; only the clock that made it can clear it. */
export type TimerHandle = { readonly timer: unknown }

/** The real clock: `Date.now` and the host's timers, unref'd so they never keep a process alive. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => ({ timer: unref(setTimeout(fn, ms)) }),
  clearTimeout: (handle) => clearTimeout(handle?.timer as ReturnType<typeof setTimeout> | undefined),
  setInterval: (fn, ms) => ({ timer: unref(setInterval(fn, ms)) }),
  clearInterval: (handle) => clearInterval(handle?.timer as ReturnType<typeof setInterval> | undefined),
}

function unref<T>(timer: T): T {
  ;(timer as { unref?: () => void }).unref?.()
  return timer
}

/**
 * Makes one of the clock's timers keep the process alive after all: for a timer that stands for
 * work in progress (values waiting to be sent, joiners waiting to be let in), as a pending write
 * would. Without it, a process whose endpoints all talk in-process exits with the work undone.
 * A fake clock's handles have nothing to hold.
 */
export function keepAlive(handle: TimerHandle): TimerHandle {
  ;(handle.timer as { ref?: () => void } | undefined)?.ref?.()
  return handle
}

/** Resolves after `ms` on `clock`. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms))
}
