import type { DocId } from './ids.js'
import { checkAppendBatch, type Storage, type StoredDocument, type StoredFragment, type StoredSnapshot, type TreeRecord } from './storage.js'
import { ClosedError } from './errors.js'

interface Entry {
  snapshot: StoredSnapshot | undefined
  /** Sequenced fragments, ascending and gapless from `log[0].seq`. */
  log: StoredFragment[]
}

/**
 * Storage in memory: for tests and for roots that may lose everything on restart. It keeps its
 * own copies of the bytes it is given, so callers may reuse their buffers. `append` resolves at
 * once (there is nothing to make durable).
 */
export class MemoryStorage implements Storage {
  readonly #docs = new Map<DocId, Entry>()
  #tree: TreeRecord | undefined
  #closed = false

  async loadTree(): Promise<TreeRecord | undefined> {
    this.#check()
    return this.#tree && copyTree(this.#tree)
  }

  async saveTree(record: TreeRecord): Promise<void> {
    this.#check()
    this.#tree = copyTree(record)
  }

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
    if (fragments.length === 0) return
    const d = this.#docs.get(doc)
    checkAppendBatch(doc, head(d) + 1, fragments)
    const copies = fragments.map((f) => ({ seq: f.seq, origin: f.origin, clientSeq: f.clientSeq, envelope: f.envelope.slice() }))
    if (d) d.log.push(...copies)
    else this.#docs.set(doc, { snapshot: undefined, log: copies })
  }

  async writeSnapshot(doc: DocId, snapshot: StoredSnapshot): Promise<void> {
    this.#check()
    const copy = copySnapshot(snapshot)
    const d = this.#docs.get(doc)
    if (!d) this.#docs.set(doc, { snapshot: copy, log: [] })
    else if (!d.snapshot || snapshot.seq >= d.snapshot.seq) d.snapshot = copy
  }

  async replace(doc: DocId, snapshot: StoredSnapshot): Promise<void> {
    this.#check()
    this.#docs.set(doc, { snapshot: copySnapshot(snapshot), log: [] })
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

  #check(): void {
    if (this.#closed) throw new ClosedError('MemoryStorage')
  }
}

/** The highest seq a document holds: its last fragment, or its snapshot if that is newer. */
function head(d: Entry | undefined): number {
  return Math.max(d?.log.at(-1)?.seq ?? 0, d?.snapshot?.seq ?? 0)
}

function copyTree(r: TreeRecord): TreeRecord {
  return { epoch: r.epoch, root: r.root, peers: r.peers.map((p) => ({ inbound: p.inbound, outbound: p.outbound })) }
}

/** The store keeps its own copy of the bytes (the caller may reuse its buffers). */
function copySnapshot(snapshot: StoredSnapshot): StoredSnapshot {
  return {
    seq: snapshot.seq,
    state: snapshot.state.slice(),
    clientSeqs: snapshot.clientSeqs.map(([origin, clientSeq]) => [origin, clientSeq] as const),
    history: snapshot.history,
  }
}
