import type { Op } from './document/ot.js'
import type { DocId, EndpointId } from './ids.js'

/**
 * The LeafStorage contract: where a leaf (a browser tab) keeps its replicas, so that a reload
 * or a restart while offline shows its work at once and resends it exactly once.
 *
 * Exactly once rests on two things kept here: the endpoint's identity (`id`), and per document
 * the next clientSeq. The root dedupes changes by (origin, clientSeq), so a resent change is
 * answered with its seq instead of applied twice; and a clientSeq is never reused, because a
 * change is sent upstream only after a `save` that holds it (and so the counter past it) has
 * resolved.
 *
 * Adapters: `MemoryLeafStorage` in @zinc/core (tests; one instance survives an endpoint, not
 * the process) and `IdbLeafStorage` in @zinc/storage-idb (IndexedDB, one identity per tab).
 */

/** A local change not yet sequenced by the root, as kept. */
export interface LeafPendingChange {
  readonly clientSeq: number
  /** The op as it stands now: it applies to the confirmed state plus the changes before it. */
  readonly op: Op
}

/** One document as a leaf keeps it: a consistent picture of its replica at one moment. */
export interface LeafDocument {
  /** Seq of the confirmed state. */
  readonly seq: number
  /** The confirmed state (everything the root sequenced up to `seq`): plain JSON values. */
  readonly state: unknown
  /** The next clientSeq this endpoint gives a change of this document. */
  readonly nextClientSeq: number
  /** Pending local changes, in clientSeq order. */
  readonly pending: readonly LeafPendingChange[]
  /**
   * The fingerprint of the sequenced history up to `seq` (see history-chain.ts): a reopen tells
   * the parent which history it holds, and another history at that seq gets a full snapshot
   * instead of a catch-up. Absent when unknown.
   */
  readonly history?: number
}

/** Durable storage of a leaf's replicas (`IdbLeafStorage`, `MemoryLeafStorage`). */
export interface LeafStorage {
  /** The endpoint id this store belongs to: the leaf starts under it (see EndpointOptions.leafStorage). */
  readonly id: EndpointId
  /** The document as last saved; undefined if it never was, or if what was kept is unusable. */
  load(doc: DocId): Promise<LeafDocument | undefined>
  /** Replaces the document's record; resolves once it is durable. Saves of one document are applied in call order. */
  save(doc: DocId, record: LeafDocument): Promise<void>
  /** Forgets a document (its record could not be kept up to date). */
  remove(doc: DocId): Promise<void>
  /** Releases the store (and the identity it claimed). Idempotent. */
  close(): Promise<void>
}

/** Checks a loaded record's shape: a store written by something else must not be trusted. */
export function isLeafDocument(value: unknown): value is LeafDocument {
  if (typeof value !== 'object' || value === null) return false
  const r = value as Record<string, unknown>
  if (!Number.isSafeInteger(r.seq) || (r.seq as number) < 0) return false
  if (!Number.isSafeInteger(r.nextClientSeq) || (r.nextClientSeq as number) < 1) return false
  if (typeof r.state !== 'object' || r.state === null) return false
  if (r.history !== undefined && !Number.isFinite(r.history)) return false
  if (!Array.isArray(r.pending)) return false
  let last = 0
  for (const p of r.pending as unknown[]) {
    if (typeof p !== 'object' || p === null) return false
    const c = (p as { clientSeq?: unknown }).clientSeq
    if (!Number.isSafeInteger(c) || (c as number) <= last || (c as number) >= (r.nextClientSeq as number)) return false
    if (!('op' in p)) return false
    last = c as number
  }
  return true
}
