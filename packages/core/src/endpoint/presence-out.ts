import type { DocId, EndpointId } from '../ids.js'
import { encodeMessage } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import { BatchCodec } from '../protocol/payloads.js'
import { docTopic } from '../protocol/topics.js'

/** What the batcher needs of the endpoint. */
export interface PresencePublisher {
  readonly id: EndpointId
  readonly succession: { readonly epoch: number }
  defer(fn: () => void): void
  publish(topic: string, bytes: Uint8Array): void
}

/**
 * The presence a root publishes, batched per tick: every value that changed in one tick goes
 * out as one PRESENCES frame per document (the last value per origin), so a thousand people
 * moving their pointers cost each endpoint one frame per tick, not one per move. A tick with a
 * single change publishes that PRESENCE as it came.
 */
export class PresenceOut {
  readonly #docs = new Map<DocId, Map<EndpointId, Uint8Array>>()

  constructor(readonly node: PresencePublisher) {}

  /** `envelope`: a PRESENCE of `origin` on `doc`. */
  publish(doc: DocId, origin: EndpointId, envelope: Uint8Array): void {
    let pending = this.#docs.get(doc)
    if (!pending) {
      this.#docs.set(doc, (pending = new Map()))
      if (this.#docs.size === 1) this.node.defer(() => this.#flush())
    }
    pending.set(origin, envelope)
  }

  #flush(): void {
    const node = this.node
    for (const [doc, pending] of this.#docs) {
      const envelopes = [...pending.values()]
      if (envelopes.length === 1) node.publish(docTopic(doc), envelopes[0]!)
      else node.publish(docTopic(doc), encodeMessage({ kind: Kind.PRESENCES, origin: node.id, doc, epoch: node.succession.epoch, payload: BatchCodec.encode({ envelopes }) }))
    }
    this.#docs.clear()
  }
}
