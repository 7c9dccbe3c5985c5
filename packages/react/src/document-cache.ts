import type { Document, Endpoint } from '@zinc/core'

/** One document as the cache holds it: opening, open, or failed; and who uses it. */
export interface CacheEntry {
  readonly id: string
  readonly promise: Promise<Document<unknown, unknown>>
  doc: Document<unknown, unknown> | undefined
  error: Error | undefined
  /** Mounted components using it. */
  refs: number
  readonly controller: AbortController
  sweep: ReturnType<typeof setTimeout> | undefined
  /** Called once the open settles (the components waiting re-render). */
  readonly listeners: Set<() => void>
}

/**
 * The documents a ZincProvider has open, shared by every component that asks for the same id
 * (one `endpoint.open` per id), reference-counted by mounted components.
 *
 * Opening starts during render (so a component can suspend on it), before anything is
 * mounted; that is why nothing is released at once: a document nobody uses is closed after
 * `graceMs`, and an open nobody waits for any more is aborted then. This covers a component
 * unmounted mid-open, a suspended render React threw away, and StrictMode's mount, unmount,
 * mount (the second mount finds the same document). Nothing leaks.
 */
export class DocumentCache {
  readonly #entries = new Map<string, CacheEntry>()

  constructor(
    // oxlint-disable-next-line no-explicit-any -- any endpoint, whatever its message map
    readonly endpoint: Endpoint<any>,
    readonly graceMs = 1000,
  ) {}

  /** Documents held (open, opening, or failed and not yet forgotten). */
  get size(): number {
    return this.#entries.size
  }

  /** The entry of `id`, opening it (with `initial`, used only by the first opener) when it is not held. */
  entry(id: string, initial: object | undefined): CacheEntry {
    const existing = this.#entries.get(id)
    if (existing) return existing
    const controller = new AbortController()
    const entry: CacheEntry = {
      id,
      promise: undefined as unknown as Promise<Document<unknown, unknown>>,
      doc: undefined,
      error: undefined,
      refs: 0,
      controller,
      sweep: undefined,
      listeners: new Set(),
    }
    const promise = this.endpoint.open(id, { ...(initial !== undefined ? { initial: initial as Record<string, unknown> } : {}), signal: controller.signal }).then(
      (doc) => {
        entry.doc = doc as Document<unknown, unknown>
        this.#settled(entry)
        return entry.doc
      },
      (error: unknown) => {
        entry.error = error instanceof Error ? error : new Error(String(error))
        this.#settled(entry)
        throw entry.error
      },
    )
    // Suspense and the hooks read the outcome from the entry; nobody has to await this.
    promise.catch(() => {})
    ;(entry as { promise: Promise<Document<unknown, unknown>> }).promise = promise
    this.#entries.set(id, entry)
    // Started by a render that may never mount: released if nobody takes it.
    this.#scheduleSweep(entry)
    return entry
  }

  /** A mounted component uses the entry; call the returned function when it unmounts. */
  retain(entry: CacheEntry): () => void {
    entry.refs++
    clearTimeout(entry.sweep)
    entry.sweep = undefined
    let released = false
    return () => {
      if (released) return
      released = true
      entry.refs--
      this.#scheduleSweep(entry)
    }
  }

  #settled(entry: CacheEntry): void {
    for (const listener of [...entry.listeners]) listener()
    this.#scheduleSweep(entry)
  }

  #scheduleSweep(entry: CacheEntry): void {
    if (entry.refs > 0 || entry.sweep !== undefined) return
    entry.sweep = setTimeout(() => {
      entry.sweep = undefined
      if (entry.refs > 0 || this.#entries.get(entry.id) !== entry) return
      this.#entries.delete(entry.id)
      if (entry.doc) void entry.doc.close().catch(() => {})
      else if (!entry.error) entry.controller.abort()
    }, this.graceMs)
  }
}
