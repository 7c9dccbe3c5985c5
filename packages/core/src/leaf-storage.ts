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
 * resolved. And a change goes up only as the copy such a save holds (`LeafPendingChange.sent`):
 * the root may sequence a copy the process sent just before it died, so a restart resends that
 * copy, not the change's later local form, and its later changes follow the form the root gave it.
 *
 * What is written after every change is small: the pending changes and the fragments sequenced
 * since the kept state. The state itself (large for a large document) is written now and then,
 * in the same atomic write as a record, so the two always match.
 *
 * Adapters: `MemoryLeafStorage` in @zinc/core (tests; one instance survives an endpoint, not
 * the process) and `IdbLeafStorage` in @zinc/storage-idb (IndexedDB, one identity per tab).
 */

/** A local change not yet sequenced by the root, as kept. */
export interface LeafPendingChange {
  readonly clientSeq: number
  /** The op as it stands now: it applies to the confirmed state plus the changes before it. */
  readonly op: Op
  /**
   * The copy of it that went (or may go) up: the root may sequence this very copy, so a restart
   * resends it as it is, and the changes after it follow the form the root gives it. Absent:
   * it never went up (or the record is from before this field: it is sent as `op`).
   */
  readonly sent?: LeafSentCopy
}

/** A copy of a change as it went up (see LeafPendingChange.sent). */
export interface LeafSentCopy {
  /** The seq of the state it was made on. */
  readonly base: number
  /** The FRAGMENT payload, as sent. */
  readonly payload: Uint8Array
  /** Rewritten locally since (by changes sequenced before it): the changes after it wait for its echo. */
  readonly dirty: boolean
  /**
   * Sent before a snapshot jump and carried onto the snapshot by a guess: the form the root
   * gives it is learnt from its echo, and the changes after it are carried onto that form.
   */
  readonly inDoubt: boolean
}

/**
 * A document's confirmed state at one seq, as a leaf keeps it: the large part, written only now
 * and then (see LeafDocument.sequenced).
 */
export interface LeafState {
  readonly seq: number
  /** The confirmed state at `seq`: plain JSON values. */
  readonly state: unknown
  /**
   * The fingerprint of the sequenced history up to `seq` (see history-chain.ts): a reopen tells
   * the parent which history it holds, and another history gets a full snapshot instead of a
   * catch-up. Absent when unknown.
   */
  readonly history?: number
}

/**
 * The small part, written after every change: what happened since the kept state, and the
 * pending changes. The confirmed state is the kept state plus `sequenced`.
 */
export interface LeafDocument {
  /** The seq of the LeafState this record continues (saved with it, or before it). */
  readonly stateSeq: number
  /** The sequenced fragments after `stateSeq` up to `seq`, as received (encoded envelopes), in order. */
  readonly sequenced: readonly Uint8Array[]
  /** Seq of the confirmed state. */
  readonly seq: number
  /** The next clientSeq this endpoint gives a change of this document. */
  readonly nextClientSeq: number
  /** Pending local changes, in clientSeq order, each as it stands on the confirmed state plus the ones before it. */
  readonly pending: readonly LeafPendingChange[]
}

/** What `load` gives: the kept state and the record that continues it. */
export interface LeafSnapshot {
  readonly state: LeafState
  readonly record: LeafDocument
}

/** Durable storage of a leaf's replicas (`IdbLeafStorage`, `MemoryLeafStorage`). */
export interface LeafStorage {
  /** The endpoint id this store belongs to: the leaf starts under it (see EndpointOptions.leafStorage). */
  readonly id: EndpointId
  /** The document as last saved; undefined if it never was. What it holds is checked by the caller. */
  load(doc: DocId): Promise<LeafSnapshot | undefined>
  /**
   * Replaces the document's record, and its state when `state` is given, in one atomic write;
   * resolves once it is durable. Saves of one document are applied in call order.
   */
  save(doc: DocId, record: LeafDocument, state?: LeafState): Promise<void>
  /** Forgets a document (its record could not be kept up to date). */
  remove(doc: DocId): Promise<void>
  /** Releases the store (and the identity it claimed). Idempotent. */
  close(): Promise<void>
}

/** Checks what `load` gave: a store written by something else must not be trusted. */
export function isLeafSnapshot(value: unknown): value is LeafSnapshot {
  if (typeof value !== 'object' || value === null) return false
  const { state, record } = value as { state?: unknown; record?: unknown }
  if (typeof state !== 'object' || state === null || typeof record !== 'object' || record === null) return false
  const st = state as Record<string, unknown>
  const r = record as Record<string, unknown>
  if (!Number.isSafeInteger(st.seq) || (st.seq as number) < 0) return false
  if (typeof st.state !== 'object' || st.state === null) return false
  if (st.history !== undefined && !Number.isFinite(st.history)) return false
  if (r.stateSeq !== st.seq) return false
  if (!Number.isSafeInteger(r.seq) || (r.seq as number) < (st.seq as number)) return false
  if (!Number.isSafeInteger(r.nextClientSeq) || (r.nextClientSeq as number) < 1) return false
  if (!Array.isArray(r.sequenced) || r.sequenced.length !== (r.seq as number) - (st.seq as number)) return false
  if (!r.sequenced.every((e) => e instanceof Uint8Array)) return false
  if (!Array.isArray(r.pending)) return false
  let last = 0
  for (const p of r.pending as unknown[]) {
    if (typeof p !== 'object' || p === null) return false
    const c = (p as { clientSeq?: unknown }).clientSeq
    if (!Number.isSafeInteger(c) || (c as number) <= last || (c as number) >= (r.nextClientSeq as number)) return false
    if (!('op' in p)) return false
    const sent = (p as { sent?: unknown }).sent
    if (sent !== undefined && !isSentCopy(sent, r.seq as number)) return false
    last = c as number
  }
  return true
}

function isSentCopy(value: unknown, seq: number): value is LeafSentCopy {
  if (typeof value !== 'object' || value === null) return false
  const s = value as Record<string, unknown>
  return Number.isSafeInteger(s.base) && (s.base as number) >= 0 && (s.base as number) <= seq && s.payload instanceof Uint8Array && typeof s.dirty === 'boolean' && typeof s.inDoubt === 'boolean'
}
