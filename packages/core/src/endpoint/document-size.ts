import type { DocId } from '../ids.js'
import type { Replica } from '../document/replica.js'

/** How long an accepted change counts as "not applied yet" at most (sequencing takes a tick). */
const PENDING_MS = 2_000

interface Estimate {
  /** Exact size (JSON characters) of the confirmed state at `seq`, plus what settled since. */
  measured: number
  seq: number
  /** Payload bytes of changes accepted and not yet seen applied, oldest first, with when. */
  pending: Array<{ bytes: number; at: number }>
  pendingBytes: number
}

/**
 * The root's running estimate of each document's size, for `maxDocumentBytes`. Array
 * amplification is refused at the edge, so a change grows a document by at most its own
 * payload: the estimate is the last measured size plus the payloads accepted since. Only when
 * that passes the limit is the state measured again (one JSON.stringify), so the check costs
 * nothing on the way to the limit and is exact near it. Changes accepted in the same tick
 * (not applied yet) count until they are (or until `PENDING_MS`, for a change refused later).
 */
export class DocumentSizes {
  readonly #estimates = new Map<DocId, Estimate>()

  /**
   * Undefined when a change of `payloadBytes` keeps `replica` within `limit` (and counts it in),
   * else the size the document would have, about.
   */
  wouldExceed(replica: Replica, payloadBytes: number, limit: number, now = Date.now()): number | undefined {
    if (!Number.isFinite(limit)) return undefined
    let estimate = this.#estimates.get(replica.doc)
    if (!estimate) {
      estimate = { measured: measure(replica), seq: replica.seq, pending: [], pendingBytes: 0 }
      this.#estimates.set(replica.doc, estimate)
    }
    settle(estimate, replica.seq, now)
    if (estimate.measured + estimate.pendingBytes + payloadBytes > limit) {
      // Near the limit: measure what is applied now, exactly.
      estimate.measured = measure(replica)
      estimate.seq = replica.seq
      if (estimate.measured + estimate.pendingBytes + payloadBytes > limit) return estimate.measured + estimate.pendingBytes + payloadBytes
    }
    estimate.pending.push({ bytes: payloadBytes, at: now })
    estimate.pendingBytes += payloadBytes
    return undefined
  }

  /** Forgets a document (closed at the root). */
  forget(doc: DocId): void {
    this.#estimates.delete(doc)
  }
}

/** Moves changes applied since the last look (by count of seqs) or too old into `measured`/out. */
function settle(estimate: Estimate, seq: number, now: number): void {
  let applied = Math.max(0, seq - estimate.seq)
  estimate.seq = Math.max(estimate.seq, seq)
  while (estimate.pending.length > 0 && (applied > 0 || now - estimate.pending[0]!.at > PENDING_MS)) {
    const first = estimate.pending.shift()!
    estimate.pendingBytes -= first.bytes
    if (applied > 0) {
      applied--
      estimate.measured += first.bytes
    }
  }
}

function measure(replica: Replica): number {
  try {
    return JSON.stringify(replica.confirmed ?? null)?.length ?? 0
  } catch {
    return Infinity
  }
}
