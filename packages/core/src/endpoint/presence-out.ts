import type { DocId, EndpointId } from '../ids.js'
import { encodeMessage } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import { BatchCodec } from '../protocol/payloads.js'
import { docTopic } from '../protocol/topics.js'
import { keepAlive, type Clock, type TimerHandle } from '../runtime/clock.js'

/** What the batcher needs of the endpoint. */
export interface PresencePublisher {
  readonly id: EndpointId
  readonly succession: { readonly epoch: number }
  readonly clock: Clock
  defer(fn: () => void): void
  publish(topic: string, bytes: Uint8Array): void
  sendUp(bytes: Uint8Array): void
}

/**
 * Presence frames of one document in one direction leave at most once per this window: one
 * display frame (nobody sees a pointer move faster), so a crowd moving at once costs every hop
 * at most about sixty frames a second per document, however many people move and however
 * their moves are spread in time. An endpoint's own value leaves at the end of its tick when
 * no frame left in the last window; others' values (at a relay, at the root) wait a window
 * for the rest of the crowd's: sent as they came, a busy relay — whose arrivals are spread by
 * its own work — would send one frame per person, and each costs every endpoint below a decode.
 */
export const PRESENCE_WINDOW_MS = 16

/** One document's presence waiting in one direction: the last envelope per origin. */
interface Batch {
  readonly doc: DocId
  readonly values: Map<EndpointId, Uint8Array>
  readonly send: (bytes: Uint8Array) => void
  lastSent: number
  scheduled: boolean
  timer: TimerHandle | undefined
}

/**
 * Presence, batched in both directions: every value that changed since the last frame goes
 * out as one PRESENCES frame per document (the last value per origin), so a thousand people
 * moving their pointers cost each endpoint a frame per window, not one per move.
 * - Down (`publish`, at the root): to every endpoint below, on the document's topic.
 * - Up (`forward`, at a relay or leaf): towards the root, so a relay with a thousand leaves
 *   sends its parent a frame per window per document, not one per leaf that moved.
 * A batch of a single change sends that PRESENCE as it came.
 */
export class PresenceOut {
  readonly #down = new Map<DocId, Batch>()
  readonly #up = new Map<DocId, Batch>()
  #stopped = false

  constructor(readonly node: PresencePublisher) {}

  /** At the root. `envelope`: a PRESENCE of `origin` on `doc`. */
  publish(doc: DocId, origin: EndpointId, envelope: Uint8Array): void {
    this.#queue(this.#down, doc, origin, envelope, (bytes) => this.node.publish(docTopic(doc), bytes))
  }

  /** Below the root. `envelope`: a PRESENCE of `origin` on `doc`, with this endpoint as its sender. */
  forward(doc: DocId, origin: EndpointId, envelope: Uint8Array): void {
    this.#queue(this.#up, doc, origin, envelope, (bytes) => this.node.sendUp(bytes))
  }

  /** The endpoint closes: nothing more is sent, no timer is left behind. */
  stop(): void {
    this.#stopped = true
    for (const batch of [...this.#down.values(), ...this.#up.values()]) this.node.clock.clearTimeout(batch.timer)
    this.#down.clear()
    this.#up.clear()
  }

  #queue(batches: Map<DocId, Batch>, doc: DocId, origin: EndpointId, envelope: Uint8Array, send: (bytes: Uint8Array) => void): void {
    if (this.#stopped) return
    let batch = batches.get(doc)
    if (!batch) {
      if (batches.size >= 64) this.#prune(batches)
      batches.set(doc, (batch = { doc, values: new Map(), send, lastSent: -Infinity, scheduled: false, timer: undefined }))
    }
    batch.values.set(origin, envelope)
    if (batch.scheduled) return
    batch.scheduled = true
    const wait = origin === this.node.id ? batch.lastSent + PRESENCE_WINDOW_MS - this.node.clock.now() : PRESENCE_WINDOW_MS
    if (wait <= 0) this.node.defer(() => this.#flush(batch))
    // Values waiting keep the process alive (see keepAlive).
    else batch.timer = keepAlive(this.node.clock.setTimeout(() => this.#flush(batch), wait))
  }

  #flush(batch: Batch): void {
    batch.scheduled = false
    batch.timer = undefined
    if (this.#stopped || batch.values.size === 0) return
    batch.lastSent = this.node.clock.now()
    const envelopes = [...batch.values.values()]
    batch.values.clear()
    if (envelopes.length === 1) return batch.send(envelopes[0]!)
    const node = this.node
    batch.send(encodeMessage({ kind: Kind.PRESENCES, origin: node.id, sender: node.id, doc: batch.doc, epoch: node.succession.epoch, payload: BatchCodec.encode({ envelopes }) }))
  }

  /** Forgets the documents whose window is over and nothing waits (an endpoint opens many documents over its life). */
  #prune(batches: Map<DocId, Batch>): void {
    const over = this.node.clock.now() - PRESENCE_WINDOW_MS
    for (const [doc, batch] of batches) if (!batch.scheduled && batch.lastSent < over) batches.delete(doc)
  }
}
