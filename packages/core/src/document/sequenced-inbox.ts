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
  /**
   * Fragments that arrived in order, each continuing the one before (the first continuing the
   * replica's seq when it came): nearly all of them. They wait in this list, taken whole by
   * takeRun, where a map entry set, looked up and deleted per fragment cost more.
   */
  #inOrder: Sequenced[] = []
  /** The others (out of order: a gap, a catch-up crossing live fragments), by seq. */
  readonly #staged = new Map<number, Sequenced>()
  /** Highest seq seen from the parent (staged fragments, its heartbeats). */
  knownHead = 0

  constructor(
    private readonly doc: DocId,
    private readonly io: ReplicaIO,
  ) {}

  get size(): number {
    return this.#inOrder.length + this.#staged.size
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
    if (m.seq <= seq || this.#has(m.seq)) {
      this.io.stats.duplicates++
      return
    }
    const s: Sequenced = { seq: m.seq, origin: m.origin, clientSeq: m.clientSeq, epoch: m.epoch, base: m.baseSeq, body: sharedFragmentBody(this.doc, m.epoch, m.seq, m.payload), envelope: m.raw }
    const last = this.#inOrder.length > 0 ? this.#inOrder[this.#inOrder.length - 1]!.seq : seq
    if (m.seq === last + 1 && this.#staged.size === 0) this.#inOrder.push(s)
    else this.#staged.set(m.seq, s)
  }

  #has(seq: number): boolean {
    const n = this.#inOrder.length
    return (n > 0 && seq >= this.#inOrder[0]!.seq && seq <= this.#inOrder[n - 1]!.seq) || this.#staged.has(seq)
  }

  /** Takes out the staged fragments that continue `seq`, in order. */
  takeRun(seq: number): Sequenced[] {
    let run: Sequenced[] = []
    if (this.#inOrder.length > 0) {
      if (this.#inOrder[0]!.seq !== seq + 1) this.#spill()
      else {
        run = this.#inOrder
        this.#inOrder = []
        seq = run[run.length - 1]!.seq
      }
    }
    for (let next = seq + 1; this.#staged.has(next); next++) {
      run.push(this.#staged.get(next)!)
      this.#staged.delete(next)
    }
    return run
  }

  /** Moves the in-order list into the map (it does not continue the replica's seq: rare). */
  #spill(): void {
    for (const s of this.#inOrder) this.#staged.set(s.seq, s)
    this.#inOrder = []
  }

  /** Forgets staged fragments up to `seq` (already held). */
  dropUpTo(seq: number): void {
    if (this.#inOrder.length > 0 && this.#inOrder[0]!.seq <= seq) this.#spill()
    for (const s of this.#staged.keys()) if (s <= seq) this.#staged.delete(s)
  }

  clear(): void {
    this.#inOrder = []
    this.#staged.clear()
  }
}
