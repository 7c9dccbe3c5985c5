import type { DocId } from './ids.js'
import type { Storage, StoredDocument, StoredFragment, StoredSnapshot } from './storage.js'
import { InvalidArgumentError, ClosedError } from './errors.js'

/** Storage in memory: for tests and for roots that may lose everything on restart. */
export class MemoryStorage implements Storage {
  readonly #docs = new Map<DocId, { snapshot: StoredSnapshot | undefined; log: StoredFragment[] }>()
  #closed = false

  async documents(): Promise<DocId[]> {
    this.#check()
    return [...this.#docs.keys()]
  }

  async load(doc: DocId): Promise<StoredDocument | undefined> {
    this.#check()
    const d = this.#docs.get(doc)
    if (!d) return undefined
    const after = d.snapshot?.seq ?? 0
    return { snapshot: d.snapshot, fragments: d.log.filter((f) => f.seq > after) }
  }

  async append(doc: DocId, fragments: readonly StoredFragment[]): Promise<void> {
    this.#check()
    const d = this.#entry(doc)
    let last = d.log.at(-1)?.seq ?? d.snapshot?.seq ?? 0
    for (const f of fragments) {
      if (f.seq !== last + 1) throw new InvalidArgumentError(`append to "${doc}" expected seq ${last + 1}, got ${f.seq}: the log must stay gapless.`)
      last = f.seq
    }
    d.log.push(...fragments)
  }

  async writeSnapshot(doc: DocId, snapshot: StoredSnapshot): Promise<void> {
    this.#check()
    const d = this.#entry(doc)
    if (!d.snapshot || snapshot.seq >= d.snapshot.seq) d.snapshot = snapshot
  }

  async readLog(doc: DocId, afterSeq: number): Promise<StoredFragment[]> {
    this.#check()
    return (this.#docs.get(doc)?.log ?? []).filter((f) => f.seq > afterSeq)
  }

  async compact(doc: DocId, uptoSeq: number): Promise<void> {
    this.#check()
    const d = this.#docs.get(doc)
    if (!d) return
    const limit = Math.min(uptoSeq, d.snapshot?.seq ?? 0)
    d.log = d.log.filter((f) => f.seq > limit)
  }

  async close(): Promise<void> {
    this.#closed = true
  }

  #entry(doc: DocId) {
    let d = this.#docs.get(doc)
    if (!d) this.#docs.set(doc, (d = { snapshot: undefined, log: [] }))
    return d
  }

  #check(): void {
    if (this.#closed) throw new ClosedError('MemoryStorage')
  }
}
