/**
 * A small typed event emitter. Listeners run on a microtask, never inside the caller's stack:
 * a listener that throws or closes the transport cannot corrupt the code that emitted.
 *
 * (Zinc wants one such helper for the whole project; this one is local to the ZeroMQ
 * transport until `@zinc/core` exports it.)
 */
export class TypedEvents<Events extends { [K in keyof Events]: (...args: never[]) => void }> {
  readonly #listeners = new Map<keyof Events, Set<Events[keyof Events]>>()

  /** Adds `listener` for `event`; returns a function that removes it. */
  on<K extends keyof Events>(event: K, listener: Events[K]): () => void {
    let set = this.#listeners.get(event)
    if (set === undefined) {
      set = new Set()
      this.#listeners.set(event, set)
    }
    set.add(listener)
    return () => this.off(event, listener)
  }

  /** Removes `listener` for `event`. */
  off<K extends keyof Events>(event: K, listener: Events[K]): void {
    this.#listeners.get(event)?.delete(listener)
  }

  /** Calls every listener of `event` with `args` on a microtask. */
  emit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): void {
    const set = this.#listeners.get(event)
    if (set === undefined || set.size === 0) return
    // A listener's exception is not swallowed: like Node's EventEmitter it surfaces, here as an
    // uncaught exception from its own microtask, away from the transport's internals.
    for (const listener of [...set]) {
      queueMicrotask(() => (listener as (...a: Parameters<Events[K]>) => void)(...args))
    }
  }
}
