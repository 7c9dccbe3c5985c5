import type { DocId } from '../ids.js'
import type { Replica } from '../document/replica.js'

interface Estimate {
  /** Exact size (JSON bytes) of the confirmed state at `seq`. */
  measured: number
  seq: number
  /** Change payload bytes accepted since the measure: the state grows by at most that much. */
  since: number
}

/**
 * The root's running estimate of each document's size, for `maxDocumentBytes`. A change can
 * grow a document by at most its own patch bytes once array amplification is refused, so the
 * estimate is the last measured size plus the payloads since; only when that estimate passes
 * the limit is the state measured again (one JSON.stringify), so the check costs nothing on
 * the way to the limit and stays exact near it.
 */
export class DocumentSizes {
  readonly #estimates = new Map<DocId, Estimate>()

  /**
   * Undefined when a change of `payloadBytes` keeps `replica` within `limit`, else the size
   * the document would have (an upper bound). Counts the change in when it fits.
   */
  wouldExceed(replica: Replica, payloadBytes: number, limit: number): number | undefined {
    if (!Number.isFinite(limit)) return undefined
    let estimate = this.#estimates.get(replica.doc)
    if (!estimate) {
      estimate = this.#measure(replica)
      this.#estimates.set(replica.doc, estimate)
    }
    if (estimate.measured + estimate.since + payloadBytes <= limit) {
      estimate.since += payloadBytes
      return undefined
    }
    if (estimate.seq !== replica.seq || estimate.since > 0) {
      Object.assign(estimate, this.#measure(replica))
      if (estimate.measured + payloadBytes <= limit) {
        estimate.since += payloadBytes
        return undefined
      }
    }
    return estimate.measured + payloadBytes
  }

  /** Forgets a document (closed at the root). */
  forget(doc: DocId): void {
    this.#estimates.delete(doc)
  }

  #measure(replica: Replica): Estimate {
    let measured = 0
    try {
      measured = JSON.stringify(replica.confirmed ?? null).length
    } catch {
      measured = Infinity
    }
    return { measured, seq: replica.seq, since: 0 }
  }
}
