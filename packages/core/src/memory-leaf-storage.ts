import { ClosedError } from './errors.js'
import { newEndpointId, type DocId, type EndpointId } from './ids.js'
import type { LeafDocument, LeafSnapshot, LeafState, LeafStorage } from './leaf-storage.js'

/**
 * LeafStorage in memory: for tests, and for leaves that need no persistence. One instance
 * outlives the endpoints that use it, so a test can "reload" a leaf by starting a new endpoint
 * on the same instance (after `reopen()`). Records are deep copies (structuredClone), as
 * IndexedDB keeps them.
 */
export class MemoryLeafStorage implements LeafStorage {
  readonly #docs = new Map<DocId, { state: LeafState | undefined; record: LeafDocument }>()
  #closed = false

  constructor(readonly id: EndpointId = newEndpointId()) {}

  async load(doc: DocId): Promise<LeafSnapshot | undefined> {
    this.#check()
    const r = this.#docs.get(doc)
    return r?.state ? structuredClone({ state: r.state, record: r.record }) : undefined
  }

  async save(doc: DocId, record: LeafDocument, state?: LeafState): Promise<void> {
    this.#check()
    const kept = state ?? this.#docs.get(doc)?.state
    this.#docs.set(doc, structuredClone({ state: kept, record }))
  }

  async remove(doc: DocId): Promise<void> {
    this.#check()
    this.#docs.delete(doc)
  }

  async close(): Promise<void> {
    this.#closed = true
  }

  /** The same records again after `close` (a reloaded tab claiming its identity back). */
  reopen(): MemoryLeafStorage {
    this.#closed = false
    return this
  }

  #check(): void {
    if (this.#closed) throw new ClosedError('MemoryLeafStorage')
  }
}
