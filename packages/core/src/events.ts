/**
 * One typed event helper for the whole project. Listeners run on a microtask, never inside
 * the call that caused the event, so a listener can never re-enter Zinc's state machine
 * half-way through an update; a listener that throws is reported, not propagated.
 */
export type EventMap = { [event: string]: unknown[] }
/** A listener of an event whose arguments are `A`. */
export type Listener<A extends unknown[]> = (...args: A) => void
type AnyListener = (...args: unknown[]) => void

/** A small event emitter typed by its event map (`on` returns the function that removes the listener). */
export class TypedEmitter<E extends EventMap> {
  readonly #listeners = new Map<keyof E, Set<AnyListener>>()
  readonly #onListenerError: (error: unknown, event: string) => void

  constructor(onListenerError?: (error: unknown, event: string) => void) {
    this.#onListenerError =
      onListenerError ??
      ((error) =>
        queueMicrotask(() => {
          throw error
        }))
  }

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    let set = this.#listeners.get(event)
    if (!set) this.#listeners.set(event, (set = new Set()))
    set.add(listener as unknown as AnyListener)
    return () => this.off(event, listener)
  }

  /** Adds a listener that runs once. */
  once<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    const off = this.on(event, ((...args: E[K]) => {
      off()
      listener(...args)
    }) as Listener<E[K]>)
    return off
  }

  /** Removes a listener added with `on` or `once`. */
  off<K extends keyof E>(event: K, listener: Listener<E[K]>): void {
    this.#listeners.get(event)?.delete(listener as unknown as AnyListener)
  }

  /** Dispatches on a microtask to the listeners registered now. */
  emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.#listeners.get(event)
    if (!set || set.size === 0) return
    const listeners = [...set]
    queueMicrotask(() => {
      for (const listener of listeners) {
        // Removed since the emit (a `once` that already ran, an unsubscribe): skip it.
        if (!set.has(listener)) continue
        try {
          ;(listener as unknown as Listener<E[K]>)(...args)
        } catch (error) {
          this.#onListenerError(error, String(event))
        }
      }
    })
  }

  /** How many listeners `event` has. */
  listenerCount(event: keyof E): number {
    return this.#listeners.get(event)?.size ?? 0
  }

  /** Removes every listener of every event. */
  removeAllListeners(): void {
    this.#listeners.clear()
  }
}

/**
 * A base for public classes that emit typed events (the transports): `on`, `once` and `off`
 * for their users; the emitter itself for the class and the parts it wires.
 */
export class EventSource<E extends EventMap> {
  /** The emitter behind `on`/`once`/`off`: the class and its parts emit on it. */
  protected readonly events = new TypedEmitter<E>()

  /** Listens to `event` (dispatched on a microtask); returns a function that stops listening. */
  on<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    return this.events.on(event, listener)
  }

  /** Like `on`, for the next event only. */
  once<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    return this.events.once(event, listener)
  }

  /** Stops a listener added with `on` or `once`. */
  off<K extends keyof E>(event: K, listener: Listener<E[K]>): void {
    this.events.off(event, listener)
  }
}
