import type { EventMap, Listener, TypedEmitter } from '../events.js'

/**
 * The listeners one handle added to an emitter it shares with other handles (several
 * `Document`s of one document share its replica's events): `off` and `releaseAll` remove only
 * this handle's, so closing one handle never silences another.
 */
export class OwnListeners<E extends EventMap> {
  readonly #offs = new Map<keyof E, Map<object, () => void>>()

  constructor(private readonly emitter: TypedEmitter<E>) {}

  on<K extends keyof E>(event: K, listener: Listener<E[K]>): void {
    this.off(event, listener)
    this.#of(event).set(listener, this.emitter.on(event, listener))
  }

  once<K extends keyof E>(event: K, listener: Listener<E[K]>): void {
    this.off(event, listener)
    const off = this.emitter.once(event, ((...args: E[K]) => {
      this.#of(event).delete(listener)
      listener(...args)
    }) as Listener<E[K]>)
    this.#of(event).set(listener, off)
  }

  off<K extends keyof E>(event: K, listener: Listener<E[K]>): void {
    const offs = this.#offs.get(event)
    offs?.get(listener)?.()
    offs?.delete(listener)
  }

  releaseAll(): void {
    for (const offs of this.#offs.values()) for (const off of offs.values()) off()
    this.#offs.clear()
  }

  #of(event: keyof E): Map<object, () => void> {
    let offs = this.#offs.get(event)
    if (!offs) this.#offs.set(event, (offs = new Map()))
    return offs
  }
}
