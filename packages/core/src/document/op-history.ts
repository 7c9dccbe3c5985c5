import type { EndpointId } from '../ids.js'
import type { Op } from './ot.js'

/** One sequenced operation, as every replica applied it. */
export interface HistoryEntry {
  seq: number
  origin: EndpointId
  clientSeq: number
  /** The seq the change was made on. */
  base: number
  /** The sequenced form (what everyone applies). */
  op: Op
  /**
   * The form the origin sent, relative to `base` and its own earlier changes; known only to
   * the root that sequenced it. A later change of the same origin made on top of this one is
   * transformed with it (see Sequencer).
   */
  sent?: Op
}

/**
 * The recent sequenced operations of one document, bounded by count. The root transforms a
 * fragment against the entries after its base seq; a base older than the history gets
 * `ERR_STALE_BASE` and the origin rebases and resends (PROTOCOL.md, Operations).
 */
export class OpHistory {
  #entries: HistoryEntry[] = []
  #head = 0
  /** Seq of the state the oldest entry applies to: entries cover (floor, floor + length]. */
  #floor = 0

  constructor(readonly limit: number) {}

  /** Forgets everything; the next entry continues from `seq` (after a snapshot). */
  reset(seq: number): void {
    this.#entries = []
    this.#head = 0
    this.#floor = seq
  }

  get lastSeq(): number {
    return this.#floor + this.#entries.length - this.#head
  }

  append(entry: HistoryEntry): void {
    if (entry.seq !== this.lastSeq + 1) this.reset(entry.seq - 1)
    this.#entries.push(entry)
    if (this.#entries.length - this.#head > this.limit) {
      this.#head++
      this.#floor++
      if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
        this.#entries = this.#entries.slice(this.#head)
        this.#head = 0
      }
    }
  }

  /** True when the entries after `base` are all here. */
  covers(base: number): boolean {
    return base >= this.#floor && base <= this.lastSeq
  }

  /** Entries with seq > `base`, oldest first; undefined when the history no longer reaches back. */
  since(base: number): HistoryEntry[] | undefined {
    if (base < this.#floor || base > this.lastSeq) return undefined
    return this.#entries.slice(this.#head + (base - this.#floor))
  }
}
