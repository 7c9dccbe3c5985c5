import { InvalidArgumentError } from './errors.js'
import type { DocId, EndpointId } from './ids.js'

/**
 * The Storage contract: where a root keeps what it sequenced, so a restart loses nothing
 * that was acknowledged. A fragment is acknowledged (its echo published) only after the
 * `append` that holds it has resolved, so an adapter's durability policy is Zinc's.
 *
 * Adapters: `MemoryStorage` (tests; nothing survives the process) in @zinc/core, and
 * `LmdbStorage` in @zinc/storage-lmdb (durable, the default of `npm start` and the CLI).
 * Every adapter runs the storage conformance suite from `@zinc/core/test-suite`.
 */

/** One sequenced fragment as stored: its encoded envelope plus the fields recovery needs. */
export interface StoredFragment {
  readonly seq: number
  readonly origin: EndpointId
  readonly clientSeq: number
  /** The encoded sequenced FRAGMENT envelope, exactly as published. */
  readonly envelope: Uint8Array
}

/** A document's state at `seq`, with the highest sequenced clientSeq of every origin. */
export interface StoredSnapshot {
  readonly seq: number
  /** UTF-8 JSON of the state. */
  readonly state: Uint8Array
  readonly clientSeqs: ReadonlyArray<readonly [EndpointId, number]>
  /** Fingerprint of the history up to `seq` (document/history-chain.ts), when known. */
  readonly history?: number | undefined
}

/** What `load` returns: the newest snapshot (if any) and every fragment after it, in order. */
export interface StoredDocument {
  readonly snapshot: StoredSnapshot | undefined
  readonly fragments: StoredFragment[]
}

/**
 * What an endpoint remembers of the tree it was in, so that after a restart it re-joins that
 * tree (now perhaps under a newer root) instead of serving as a stale root.
 */
export interface TreeRecord {
  /** The tree's epoch when the record was written. */
  readonly epoch: number
  /** Whether this endpoint was the root then. */
  readonly root: boolean
  /** Endpoints it knew, nearest first: its ancestors, its siblings, its children. */
  readonly peers: ReadonlyArray<{ readonly inbound: string; readonly outbound: string }>
}

/** Durable storage of a root: a fragment log and snapshots per document (`MemoryStorage`, `@zinc/storage-lmdb`). Adapters run the storage conformance suite of `@zinc/core/test-suite`. */
export interface Storage {
  /** Ids of every stored document. */
  documents(): Promise<DocId[]>
  /** The newest snapshot and the log after it; undefined if the document was never stored. */
  load(doc: DocId): Promise<StoredDocument | undefined>
  /**
   * Appends fragments (consecutive seqs, continuing the stored log). Resolves once they are
   * durable under the adapter's policy; rejects (and stores nothing of the batch) on failure.
   * The first seq must be one past the document's head: its last fragment, or its snapshot if
   * that is newer (1 for a new document); a gap or a repeated seq rejects with
   * `InvalidArgumentError`. Appends are applied in call order, awaited or not. An empty batch is
   * a no-op. The store keeps its own copy of the bytes.
   */
  append(doc: DocId, fragments: readonly StoredFragment[]): Promise<void>
  /** Stores a snapshot; later loads start from the newest one. */
  writeSnapshot(doc: DocId, snapshot: StoredSnapshot): Promise<void>
  /**
   * Optional. Makes `snapshot` the document's whole stored history: every fragment and snapshot
   * after its seq is dropped, in one atomic write. A root whose history was replaced by a shorter
   * one (it took a later root's branch, or a survivor's snapshot) stores it so; without this
   * method such a store refuses every later append of that document (its log is ahead), and the
   * root says so in its log.
   */
  replace?(doc: DocId, snapshot: StoredSnapshot): Promise<void>
  /** Fragments with seq > `afterSeq`, in order (those still kept). */
  readLog(doc: DocId, afterSeq: number): Promise<StoredFragment[]>
  /** Drops fragments with seq <= `uptoSeq`; only done behind a snapshot at or after it. */
  compact(doc: DocId, uptoSeq: number): Promise<void>
  /** The tree record last saved; undefined if none was. */
  loadTree(): Promise<TreeRecord | undefined>
  /** Replaces the tree record (durable under the adapter's policy once it resolves). */
  saveTree(record: TreeRecord): Promise<void>
  /**
   * Flushes and releases the store; writes issued before it still complete. Idempotent. Every
   * other call after it rejects with `ClosedError`.
   */
  close(): Promise<void>
}

/**
 * Checks that `fragments` continue a stored log at `expected`, with usable fields, and throws
 * `InvalidArgumentError` before anything is stored. Adapters call it first in `append`.
 */
export function checkAppendBatch(doc: DocId, expected: number, fragments: readonly StoredFragment[]): void {
  let next = expected
  for (const f of fragments) {
    if (f.seq !== next) {
      throw new InvalidArgumentError(`append to "${doc}" expected seq ${next}, got ${f.seq}: the log must stay gapless (no gaps, no repeats). Nothing of this batch was stored.`)
    }
    if (!Number.isSafeInteger(f.clientSeq) || f.clientSeq < 0) {
      throw new InvalidArgumentError(`append to "${doc}": fragment ${f.seq} has clientSeq ${f.clientSeq}; it must be a non-negative integer. Nothing of this batch was stored.`)
    }
    if (!(f.envelope instanceof Uint8Array)) {
      throw new InvalidArgumentError(`append to "${doc}": fragment ${f.seq} has no envelope bytes (a Uint8Array). Nothing of this batch was stored.`)
    }
    next++
  }
}
