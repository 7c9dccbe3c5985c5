import type { DocId, EndpointId } from '../ids.js'
import { decodeMessage, type Message } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import type { FragmentBody } from '../protocol/ops.js'
import { BatchCodec } from '../protocol/payloads.js'
import { sharedFragmentBody } from '../protocol/shared-bodies.js'
import type { ReplicaIO } from './replica-io.js'

/** A sequenced fragment from upstream, decoded once, waiting for its turn. */
export interface Sequenced {
  seq: number
  origin: EndpointId
  clientSeq: number
  epoch: number
  base: number
  body: FragmentBody
  envelope: Uint8Array
}

/**
 * Sequenced fragments received from upstream and not yet applied: they may arrive out of
 * order (a catch-up crossing live fragments) or twice; a replica takes them in seq order,
 * as a run that continues its seq.
 */
export class SequencedInbox {
  readonly #staged = new Map<number, Sequenced>()
  /** Highest seq seen from the parent (staged fragments, its heartbeats). */
  knownHead = 0

  constructor(
    private readonly doc: DocId,
    private readonly io: ReplicaIO,
  ) {}

  get size(): number {
    return this.#staged.size
  }

  /** Stages a sequenced FRAGMENT, or each fragment of a FRAGMENTS batch, that lies beyond `seq`. */
  receive(message: Message, seq: number): void {
    if (message.kind === Kind.FRAGMENTS) {
      for (const bytes of BatchCodec.decode(message.payload).envelopes) {
        const inner = decodeMessage(bytes, Infinity)
        if (inner.kind === Kind.FRAGMENT && inner.doc === this.doc && inner.seq > 0) this.#stage(inner, seq)
        else this.io.stats.dropped++
      }
    } else {
      this.#stage(message, seq)
    }
  }

  #stage(m: Message, seq: number): void {
    if (m.seq > this.knownHead) this.knownHead = m.seq
    if (m.seq <= seq || this.#staged.has(m.seq)) {
      this.io.stats.duplicates++
      return
    }
    this.#staged.set(m.seq, { seq: m.seq, origin: m.origin, clientSeq: m.clientSeq, epoch: m.epoch, base: m.baseSeq, body: sharedFragmentBody(this.doc, m.epoch, m.seq, m.payload), envelope: m.raw })
  }

  /** Takes out the staged fragments that continue `seq`, in order. */
  takeRun(seq: number): Sequenced[] {
    const run: Sequenced[] = []
    for (let next = seq + 1; this.#staged.has(next); next++) {
      run.push(this.#staged.get(next)!)
      this.#staged.delete(next)
    }
    return run
  }

  /** Forgets staged fragments up to `seq` (already held). */
  dropUpTo(seq: number): void {
    for (const s of this.#staged.keys()) if (s <= seq) this.#staged.delete(s)
  }

  clear(): void {
    this.#staged.clear()
  }
}
