import type { EndpointId } from '../ids.js'

/**
 * A run of consecutive DocLog entries stored as columns, their envelopes copied end to end into
 * one byte slab. Why: an entry kept as an object (seq, origin, clientSeq, epoch, chain) plus a
 * Uint8Array view of its envelope cost ~270 B of heap beside the envelope's own bytes, more than
 * twice a small fragment; here it costs 32 B (three doubles and an origin reference) beside them:
 * seqs and epochs are kept as a first value while they run on as expected (seqs one after
 * another, one epoch), each on its own only in a block where they do not.
 * The views handed out (`envelope`) are made on demand and share the slab.
 *
 * An envelope larger than BIG is kept by reference instead (copying it in would double what a
 * big change costs for nothing), but copied first when it is a view into a buffer more than
 * twice its size: a small view must not keep a whole received batch or pooled buffer alive.
 */
export const BIG = 2048

/** Doubles per entry: clientSeq, chain (NaN: unknown), end of its bytes in the slab. */
const STRIDE = 3
const CLIENT_SEQ = 0
const CHAIN = 1
const END = 2

export class LogBlock {
  /**
   * A plain array of doubles, not a Float64Array: a typed array costs ~200 B more (its buffer
   * object and backing store), which a document with a handful of changes would feel.
   */
  #cols: number[]
  /** Made at the block's size: an array grown by push keeps up to half as much again spare. */
  #origins: EndpointId[]
  /** Envelopes kept by reference (see BIG), by index; made on first use. */
  #big: (Uint8Array | undefined)[] | undefined
  #slab: Uint8Array
  #used = 0
  #length = 0
  /** Entry i's seq is #seq0 + i, unless a gap made them each kept (#seqs: never expected). */
  #seq0 = 0
  #seqs: number[] | undefined
  /** Every entry's epoch is #epoch0, unless a change of epoch within the block made them each kept. */
  #epoch0 = 0
  #epochs: number[] | undefined

  /** `base`: the log position of this block's first entry; `slabHint`: the bytes its envelopes will likely take. */
  constructor(
    readonly base: number,
    public capacity: number,
    slabHint: number,
  ) {
    // Filled with a double, so the array holds unboxed doubles from the start.
    this.#cols = new Array<number>(capacity * STRIDE).fill(NaN)
    this.#origins = new Array<EndpointId>(capacity)
    // Grown by doubling if the envelopes take more.
    this.#slab = new Uint8Array(slabHint)
  }

  get length(): number {
    return this.#length
  }

  get full(): boolean {
    return this.#length === this.capacity
  }

  /** Appends one entry (the block must not be full). */
  push(seq: number, origin: EndpointId, clientSeq: number, epoch: number, chain: number | undefined, envelope: Uint8Array): void {
    const i = this.#length++
    const at = i * STRIDE
    const cols = this.#cols
    if (i === 0) {
      this.#seq0 = seq
      this.#epoch0 = epoch
    }
    if (this.#seqs !== undefined) this.#seqs.push(seq)
    else if (seq !== this.#seq0 + i) (this.#seqs = Array.from({ length: i }, (_, k) => this.#seq0 + k)).push(seq)
    if (this.#epochs !== undefined) this.#epochs.push(epoch)
    else if (epoch !== this.#epoch0) (this.#epochs = new Array<number>(i).fill(this.#epoch0)).push(epoch)
    cols[at + CLIENT_SEQ] = clientSeq
    cols[at + CHAIN] = chain ?? NaN
    this.#origins[i] = origin
    const n = envelope.byteLength
    if (n > BIG) {
      this.#big ??= []
      this.#big[i] = envelope.buffer.byteLength > 2 * n ? copyOf(envelope) : envelope
    } else {
      if (this.#used + n > this.#slab.length) this.#grow(this.#used + n)
      this.#slab.set(envelope, this.#used)
      this.#used += n
    }
    cols[at + END] = this.#used
  }

  /** Room for `capacity` entries in all (a full block that goes on growing instead of a new one). */
  grow(capacity: number): void {
    const cols = new Array<number>(capacity * STRIDE).fill(NaN)
    for (let i = 0; i < this.#length * STRIDE; i++) cols[i] = this.#cols[i]!
    this.#cols = cols
    const origins = new Array<EndpointId>(capacity)
    for (let i = 0; i < this.#length; i++) origins[i] = this.#origins[i]!
    this.#origins = origins
    this.capacity = capacity
  }

  /** No entry will be added: give back what the slab was over-sized by (a copy, once per block). */
  seal(): void {
    if (this.#slab.length - this.#used > this.#slab.length >> 3) this.#slab = this.#slab.slice(0, this.#used)
  }

  seq(i: number): number {
    return this.#seqs !== undefined ? this.#seqs[i]! : this.#seq0 + i
  }

  origin(i: number): EndpointId {
    return this.#origins[i]!
  }

  clientSeq(i: number): number {
    return this.#cols[i * STRIDE + CLIENT_SEQ]!
  }

  epoch(i: number): number {
    return this.#epochs !== undefined ? this.#epochs[i]! : this.#epoch0
  }

  chain(i: number): number | undefined {
    const c = this.#cols[i * STRIDE + CHAIN]!
    return Number.isNaN(c) ? undefined : c
  }

  envelope(i: number): Uint8Array {
    const big = this.#big?.[i]
    if (big !== undefined) return big
    const start = i === 0 ? 0 : this.#cols[(i - 1) * STRIDE + END]!
    return this.#slab.subarray(start, this.#cols[i * STRIDE + END]!)
  }

  /** The bytes of entry `i`'s envelope. */
  size(i: number): number {
    const big = this.#big?.[i]
    if (big !== undefined) return big.byteLength
    return this.#cols[i * STRIDE + END]! - (i === 0 ? 0 : this.#cols[(i - 1) * STRIDE + END]!)
  }

  /** Entry `i` left the log: a big envelope is released now (slab bytes go with the block). */
  release(i: number): void {
    if (this.#big !== undefined && this.#big[i] !== undefined) this.#big[i] = undefined
  }

  #grow(need: number): void {
    const next = new Uint8Array(Math.max(need, this.#slab.length * 2))
    next.set(this.#slab.subarray(0, this.#used))
    this.#slab = next
  }
}

function copyOf(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes.byteLength)
  copy.set(bytes)
  return copy
}
