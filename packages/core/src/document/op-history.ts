import type { EndpointId } from '../ids.js'
import { HistoryPlaces } from './history-places.js'
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
 * The recent sequenced operations of one document, bounded by count and by bytes (the JSON
 * size of the ops it holds: 400 changes of 1 MB must not keep 400 MB). The root transforms a
 * fragment against the entries after its base seq; a base older than the history gets
 * `ERR_STALE_BASE` and the origin rebases and resends (PROTOCOL.md, Operations).
 */
export class OpHistory {
  #entries: HistoryEntry[] = []
  #head = 0
  /** Seq of the state the oldest entry applies to: entries cover (floor, floor + length]. */
  #floor = 0
  /** JSON bytes of the entries held, and of each entry (parallel to #entries). */
  #bytes = 0
  #sizes: number[] = []

  constructor(
    readonly limit: number,
    readonly bytesLimit = Infinity,
  ) {}

  get bytes(): number {
    return this.#bytes
  }

  /** Forgets everything; the next entry continues from `seq` (after a snapshot). */
  reset(seq: number): void {
    this.#entries = []
    this.#sizes = []
    this.#bytes = 0
    this.#head = 0
    this.#floor = seq
  }

  /** The seq the oldest entry held applies to. */
  get floor(): number {
    return this.#floor
  }

  /** The entry of `seq`, if held. */
  at(seq: number): HistoryEntry | undefined {
    return seq > this.#floor && seq <= this.lastSeq ? this.#entries[this.#head + (seq - this.#floor) - 1] : undefined
  }

  #places: HistoryPlaces | undefined
  /** The entries indexed by place and origin, for a root placing fragments (made on first use). */
  get places(): HistoryPlaces {
    return (this.#places ??= new HistoryPlaces())
  }

  get lastSeq(): number {
    return this.#floor + this.#entries.length - this.#head
  }

  /**
   * `wireBytes`: the size of the fragment as received or sequenced, when known (a replica
   * following its parent, a root): it bounds the op's JSON, so the op need not be serialized
   * again to be counted (unless the entry also holds another op as sent).
   */
  append(entry: HistoryEntry, wireBytes?: number): void {
    // A leaf's history (limit 0) holds nothing: it only follows the seq. Skipping the push, the
    // size and the trim of an entry dropped at once saves that work on every received change.
    if (this.limit === 0) {
      this.#floor = entry.seq
      return
    }
    if (entry.seq !== this.lastSeq + 1) this.reset(entry.seq - 1)
    this.#entries.push(entry)
    const size = !Number.isFinite(this.bytesLimit) ? 0 : wireBytes !== undefined && (entry.sent === undefined || entry.sent === entry.op) ? wireBytes + 64 : sizeOf(entry)
    this.#sizes.push(size)
    this.#bytes += size
    while (this.#entries.length - this.#head > this.limit || (this.#bytes > this.bytesLimit && this.#entries.length - this.#head > 1)) {
      this.#bytes -= this.#sizes[this.#head]!
      // Release the op now: the dead prefix stays in the array until compaction.
      this.#entries[this.#head] = undefined as unknown as HistoryEntry
      this.#head++
      this.#floor++
    }
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head)
      this.#sizes = this.#sizes.slice(this.#head)
      this.#head = 0
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

/** About the memory an entry holds: the JSON size of its ops (strings dominate big ones). */
function sizeOf(entry: HistoryEntry): number {
  try {
    const op = JSON.stringify(entry.op)?.length ?? 0
    return op + (entry.sent !== undefined && entry.sent !== entry.op ? (JSON.stringify(entry.sent)?.length ?? 0) : 0) + 64
  } catch {
    return 64
  }
}
