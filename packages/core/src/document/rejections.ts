import type { EndpointId } from '../ids.js'

/** Refusal reasons kept per origin; older ones are forgotten, oldest first. */
const PER_ORIGIN = 256
/** Origins remembered; the least recently refused is forgotten first. */
const ORIGINS = 4096

interface OriginMemory {
  reasons: Map<number, string>
  /** Highest clientSeq whose refusal may have been forgotten (0 = none). */
  forgottenUpTo: number
  /** Highest clientSeq refused. */
  lastRefused: number
}

/**
 * What the root refused, per (origin, clientSeq), so a resent refused change is answered
 * with its refusal and never with a success (issue 12). Memory is bounded; what it may have
 * forgotten it knows: clientSeqs up to `forgottenUpTo` of an origin, every origin evicted,
 * and everything handled before this root started (a restart or a promotion: the caller
 * passes the highest clientSeq per origin it knew then). A duplicate there is answered "not
 * known" (a refusal that says so), not "sequenced".
 */
export class RejectionMemory {
  readonly #origins = new Map<EndpointId, OriginMemory>()
  /** Handled before this memory existed, per origin. */
  readonly #before: Map<EndpointId, number>
  #evictedOrigins = false

  constructor(handledBefore: ReadonlyMap<EndpointId, number>) {
    this.#before = new Map(handledBefore)
  }

  remember(origin: EndpointId, clientSeq: number, reason: string): void {
    let m = this.#origins.get(origin)
    if (m)
      this.#origins.delete(origin) // re-inserted below: most recently refused last
    else m = { reasons: new Map(), forgottenUpTo: 0, lastRefused: 0 }
    this.#origins.set(origin, m)
    if (!m.reasons.has(clientSeq)) {
      m.reasons.set(clientSeq, reason)
      if (clientSeq > m.lastRefused) m.lastRefused = clientSeq
    }
    if (m.reasons.size > PER_ORIGIN) {
      const [oldest] = m.reasons.keys()
      m.reasons.delete(oldest!)
      m.forgottenUpTo = Math.max(m.forgottenUpTo, oldest!)
    }
    if (this.#origins.size > ORIGINS) {
      const [evicted] = this.#origins.keys()
      this.#origins.delete(evicted!)
      this.#evictedOrigins = true
    }
  }

  reason(origin: EndpointId, clientSeq: number): string | undefined {
    return this.#origins.get(origin)?.reasons.get(clientSeq)
  }

  /** Highest clientSeq of this origin refused (0 if none, or forgotten with its origin). */
  lastRefused(origin: EndpointId): number {
    return this.#origins.get(origin)?.lastRefused ?? 0
  }

  /** True if a refusal of this change could have been forgotten (so a duplicate is not proof of success). */
  mayHaveForgotten(origin: EndpointId, clientSeq: number): boolean {
    if (clientSeq <= (this.#before.get(origin) ?? 0)) return true
    const m = this.#origins.get(origin)
    if (m) return clientSeq <= m.forgottenUpTo
    return this.#evictedOrigins
  }
}
