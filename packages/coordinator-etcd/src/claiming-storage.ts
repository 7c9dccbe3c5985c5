import type { DocId, Storage, StoredFragment, StoredSnapshot, TreeRecord } from '@zinc/core'
import type { DocumentRecords } from './doc-records.js'

/**
 * A shard endpoint's store, which first names this host in etcd as the holder of a document's
 * latest copy (DocumentRecords.claim) before it writes a version of it, once per document per
 * term. A root acknowledges a change only once it is stored, so the record in etcd never names
 * a host whose copy misses a confirmed change.
 *
 * Writes of one document keep their call order (the Storage contract: appends apply in call
 * order, awaited or not): while a claim is pending for a document, later writes of it queue
 * behind it; once it holds, they go straight through.
 */
export class ClaimingStorage implements Storage {
  readonly #queued = new Map<DocId, Promise<void>>()

  constructor(
    readonly inner: Storage,
    readonly records: DocumentRecords,
  ) {}

  #write(doc: DocId, write: () => Promise<void>): Promise<void> {
    const before = this.#queued.get(doc)
    const run = (before ?? Promise.resolve())
      .catch(() => {})
      .then(() => this.records.claim(doc))
      .then(write)
    this.#queued.set(doc, run)
    const done = () => void (this.#queued.get(doc) === run && this.#queued.delete(doc))
    run.then(done, done)
    return run
  }

  #direct(doc: DocId): boolean {
    return !this.#queued.has(doc) && this.records.holds(doc)
  }

  // A write that waits takes a copy of its bytes first: the caller may reuse its buffers once
  // the call returns (the Storage contract: the store keeps its own copy).

  append(doc: DocId, fragments: readonly StoredFragment[]): Promise<void> {
    if (this.#direct(doc)) return this.inner.append(doc, fragments)
    const copy = fragments.map((f) => ({ ...f, envelope: f.envelope.slice() }))
    return this.#write(doc, () => this.inner.append(doc, copy))
  }

  writeSnapshot(doc: DocId, snapshot: StoredSnapshot): Promise<void> {
    if (this.#direct(doc)) return this.inner.writeSnapshot(doc, snapshot)
    const copy = { ...snapshot, state: snapshot.state.slice(), clientSeqs: snapshot.clientSeqs.map(([origin, seq]) => [origin, seq] as const) }
    return this.#write(doc, () => this.inner.writeSnapshot(doc, copy))
  }

  get replace(): Storage['replace'] {
    const inner = this.inner
    if (!inner.replace) return undefined
    return (doc, snapshot) => {
      if (this.#direct(doc)) return inner.replace!(doc, snapshot)
      const copy = { ...snapshot, state: snapshot.state.slice(), clientSeqs: snapshot.clientSeqs.map(([origin, seq]) => [origin, seq] as const) }
      return this.#write(doc, () => inner.replace!(doc, copy))
    }
  }

  documents(): Promise<DocId[]> {
    return this.inner.documents()
  }

  load(doc: DocId): ReturnType<Storage['load']> {
    return this.inner.load(doc)
  }

  readLog(doc: DocId, afterSeq: number): Promise<StoredFragment[]> {
    return this.inner.readLog(doc, afterSeq)
  }

  compact(doc: DocId, uptoSeq: number): Promise<void> {
    return this.inner.compact(doc, uptoSeq)
  }

  loadTree(): Promise<TreeRecord | undefined> {
    return this.inner.loadTree()
  }

  saveTree(record: TreeRecord): Promise<void> {
    return this.inner.saveTree(record)
  }

  close(): Promise<void> {
    return this.inner.close()
  }
}
