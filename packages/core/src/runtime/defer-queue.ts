/**
 * Deferred work that runs once the current I/O has been read: one apply per tick. Adaptive:
 * when traffic is sparse (nothing ran in the last millisecond) it runs on a microtask, so a
 * lone change is not held for a turn of the event loop; when it is dense it waits for the
 * event loop's check phase, so everything read in this turn is applied in one pass.
 */
export class DeferQueue {
  #queue: Array<() => void> = []
  /** The array #run last emptied, reused for the next queue (no array per run). */
  #spare: Array<() => void> = []
  #lastRun = 0
  /** Made once: a closure per scheduled run was an allocation per received message. */
  readonly #runBound = (): void => this.#run()

  constructor(readonly onError: (error: unknown) => void) {}

  defer(fn: () => void): void {
    this.#queue.push(fn)
    if (this.#queue.length !== 1) return
    if (performance.now() - this.#lastRun < 1) schedule(this.#runBound)
    else queueMicrotask(this.#runBound)
  }

  #run(): void {
    this.#lastRun = performance.now()
    const fns = this.#queue
    this.#queue = this.#spare
    try {
      for (let i = 0; i < fns.length; i++) {
        try {
          fns[i]!()
        } catch (error) {
          this.onError(error)
        }
      }
    } finally {
      fns.length = 0
      this.#spare = fns
    }
  }
}

const schedule: (fn: () => void) => void = typeof setImmediate === 'function' ? (fn) => setImmediate(fn) : (fn) => setTimeout(fn, 0)
