import type { DocId, EndpointId } from '../ids.js'

/**
 * Live readers are decided again. An open is served on the root's `authorize` decision of that
 * moment; every `accessCacheMs` (at least a second apart) each child a document is served to is
 * decided again — at the root by its hook, at a relay by asking the root (through its cache) —
 * and one now refused `read` loses the document: it hears `ERR_ACCESS_DENIED` for it, is taken
 * off the document's readers and, on a gated (WebSocket) parent, stops receiving its topic. So a
 * permission revoked at the root reaches a reader within about twice `accessCacheMs` (the
 * relay's kept decision, then its next check) plus a heartbeat. A check that fails (a hook that
 * throws or times out, a root that does not answer) revokes nothing.
 */
export class Grants {
  /** `${child}\n${doc}` → when its access was last decided. */
  readonly #decidedAt = new Map<string, { child: EndpointId; doc: DocId; at: number }>()

  /** `child` was served `doc` now (its access was just decided). */
  served(child: EndpointId, doc: DocId, now: number): void {
    this.#decidedAt.set(`${child}\n${doc}`, { child, doc, at: now })
  }

  /** Those decided `every` ms ago or longer (marked decided now: asked once per period). */
  due(now: number, every: number): Array<{ child: EndpointId; doc: DocId }> {
    const out: Array<{ child: EndpointId; doc: DocId }> = []
    for (const grant of this.#decidedAt.values()) {
      if (now - grant.at < every) continue
      grant.at = now
      out.push(grant)
    }
    return out
  }

  forget(child: EndpointId, doc: DocId): void {
    this.#decidedAt.delete(`${child}\n${doc}`)
  }

  clear(): void {
    this.#decidedAt.clear()
  }

  get size(): number {
    return this.#decidedAt.size
  }
}
