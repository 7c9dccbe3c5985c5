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
  sendUp(bytes: Uint8Array): void
}

/** PRESENCE envelopes waiting for the end of the tick: per document, the last one per origin. */
type Pending = Map<DocId, Map<EndpointId, Uint8Array>>

/**
 * Presence, batched per tick in both directions: every value that changed in one tick goes out
 * as one PRESENCES frame per document (the last value per origin), so a thousand people moving
 * their pointers cost each endpoint one frame per tick, not one per move.
 * - Down (`publish`, at the root): to every endpoint below, on the document's topic.
 * - Up (`forward`, at a relay or leaf): towards the root, so a relay with a thousand leaves
 *   sends its parent one frame per tick per document, not one per leaf that moved.
 * A tick with a single change sends that PRESENCE as it came.
 */
export class PresenceOut {
  readonly #down: Pending = new Map()
  readonly #up: Pending = new Map()

  constructor(readonly node: PresencePublisher) {}

  /** At the root. `envelope`: a PRESENCE of `origin` on `doc`. */
  publish(doc: DocId, origin: EndpointId, envelope: Uint8Array): void {
    this.#queue(this.#down, doc, origin, envelope, (bytes) => this.node.publish(docTopic(doc), bytes))
  }

  /** Below the root. `envelope`: a PRESENCE of `origin` on `doc`, with this endpoint as its sender. */
  forward(doc: DocId, origin: EndpointId, envelope: Uint8Array): void {
    this.#queue(this.#up, doc, origin, envelope, (bytes) => this.node.sendUp(bytes))
  }

  #queue(pending: Pending, doc: DocId, origin: EndpointId, envelope: Uint8Array, send: (bytes: Uint8Array) => void): void {
    let values = pending.get(doc)
    if (!values) {
      pending.set(doc, (values = new Map()))
      this.node.defer(() => {
        pending.delete(doc)
        this.#flush(doc, values!, send)
      })
    }
    values.set(origin, envelope)
  }

  #flush(doc: DocId, values: Map<EndpointId, Uint8Array>, send: (bytes: Uint8Array) => void): void {
    const node = this.node
    const envelopes = [...values.values()]
    if (envelopes.length === 1) return send(envelopes[0]!)
    send(encodeMessage({ kind: Kind.PRESENCES, origin: node.id, sender: node.id, doc, epoch: node.succession.epoch, payload: BatchCodec.encode({ envelopes }) }))
  }
}
