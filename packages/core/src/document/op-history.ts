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
 * Entries older than the history's hot window, read back from where they are kept anyway (the
 * replica's log: see history-thaw.ts). `at` decodes the entry anew, or says undefined when it
 * cannot (no longer kept, another history since `reset`, a form it cannot decode).
 */
export interface ColdEntries {
  at(seq: number): HistoryEntry | undefined
  /** The history restarted: what was kept before belongs to another history. */
  reset(): void
}

/**
 * The recent sequenced operations of one document, bounded by count and by bytes (the JSON
 * size of the ops it holds: 400 changes of 1 MB must not keep 400 MB). The root transforms a
 * fragment against the entries after its base seq; a base older than the history gets
 * `ERR_STALE_BASE` and the origin rebases and resends (PROTOCOL.md, Operations).
 *
 * With `cold` entries, only the newest `hot` are kept decoded: the older ones, up to `limit`,
 * are decoded again from `cold` when a fragment's base reaches back there (a writer far behind),
 * and kept thawed only while such fragments keep coming. Why: 10,000 decoded ops held for
 * bases hardly ever that old were a third of a root's memory per logged fragment. A thawed
 * entry's sent form is known where it was its op (a bit per entry), else not (as after a
 * restart: a writer with such a change in flight rebases), unless it cooled while thawed ones
 * were in use.
 */
export class OpHistory {
  #entries: HistoryEntry[] = []
  #head = 0
  /** Seq of the state the oldest hot entry applies to: hot entries cover (#floor, lastSeq]. */
  #floor = 0
  /** Seq of the state the oldest entry (hot or cold) applies to: cold ones cover (#coldFloor, #floor]. */
  #coldFloor = 0
  /** JSON bytes of the entries held, and of each entry (parallel to #entries). */
  #bytes = 0
  #sizes: number[] = []
  /** Cold entries decoded again, by seq, while in use; `#thawedAt`: lastSeq when last used. */
  #thawed: Map<number, HistoryEntry> | undefined
  #thawedAt = 0
  /** The oldest base a thawed run was made for: the entries after it are all thawed (see indexFloor). */
  #thawedBase = Infinity
  /** A bit per cold seq (modulo its size): set when that entry was sent as sequenced (sent === op). */
  #plain: Uint8Array | undefined

  constructor(
    readonly limit: number,
    readonly bytesLimit = Infinity,
    readonly hot = Infinity,
    private readonly cold?: ColdEntries,
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
    this.#coldFloor = seq
    this.#thawed = undefined
    this.#thawedBase = Infinity
    this.#plain = undefined
    this.cold?.reset()
  }

  /** The seq the oldest entry held applies to (cold ones included). */
  get floor(): number {
    return this.#coldFloor
  }

  /** The seq the oldest hot entry applies to: the place index follows the hot entries only. */
  get hotFloor(): number {
    return this.#floor
  }

  /**
   * Where the place index starts: the hot entries, and while a writer far behind is being
   * placed, the thawed ones after its base too (the scan over thousands of entries per fragment
   * cost ~10× the indexed placement, on a root that is likely behind already).
   */
  get indexFloor(): number {
    return this.#thawed === undefined ? this.#floor : Math.max(this.#coldFloor, Math.min(this.#thawedBase, this.#floor))
  }

  /** The entry of `seq`, if held. */
  at(seq: number): HistoryEntry | undefined {
    if (seq > this.#floor && seq <= this.lastSeq) return this.#entries[this.#head + (seq - this.#floor) - 1]
    return seq > this.#coldFloor && seq <= this.#floor ? this.#thaw(seq) : undefined
  }

  #places: HistoryPlaces | undefined
  /** The hot entries indexed by place and origin, for a root placing fragments (made on first use). */
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
      this.#coldFloor = entry.seq
      return
    }
    if (entry.seq !== this.lastSeq + 1) this.reset(entry.seq - 1)
    this.#entries.push(entry)
    const size = !Number.isFinite(this.bytesLimit) ? 0 : wireBytes !== undefined && (entry.sent === undefined || entry.sent === entry.op) ? wireBytes + 64 : sizeOf(entry)
    this.#sizes.push(size)
    this.#bytes += size
    const hot = Math.min(this.limit, this.cold === undefined ? Infinity : this.hot)
    while (this.#entries.length - this.#head > hot || (this.#bytes > this.bytesLimit && this.#entries.length - this.#head > 1)) {
      this.#bytes -= this.#sizes[this.#head]!
      const cooled = this.#entries[this.#head]!
      // Release the op now: the dead prefix stays in the array until compaction.
      this.#entries[this.#head] = undefined as unknown as HistoryEntry
      this.#head++
      this.#floor++
      // Thawed entries in use: this one joins them as it is (no decoding, its sent form kept).
      this.#thawed?.set(cooled.seq, cooled)
      if (this.cold !== undefined) this.#markPlain(cooled.seq, cooled.sent !== undefined && cooled.sent === cooled.op)
    }
    // Cold entries reach back `limit` entries in all (never without a cold source).
    const floor = this.cold === undefined ? this.#floor : Math.max(this.#coldFloor, this.lastSeq - this.limit)
    if (this.#thawed !== undefined) {
      for (let s = this.#coldFloor + 1; s <= floor; s++) this.#thawed.delete(s)
      // Not used for a while: no fragment reaches back there any more.
      if (this.lastSeq - this.#thawedAt > Math.max(1024, hot)) {
        this.#thawed = undefined
        this.#thawedBase = Infinity
      }
    }
    this.#coldFloor = floor
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head)
      this.#sizes = this.#sizes.slice(this.#head)
      this.#head = 0
    }
  }

  /**
   * True when the entries after `base` are all here. For a cold base it decodes them (kept
   * thawed for the `since` that follows), so that `since(base)` never fails after a yes.
   */
  covers(base: number): boolean {
    if (base < this.#coldFloor || base > this.lastSeq) return false
    if (base >= this.#floor) return true
    // The entries after the oldest base thawed for are all thawed still (those below the cold
    // floor go, and with them only older bases): no look-up per entry for every fragment of a
    // writer far behind (~2,000 map look-ups, 10× its indexed placement).
    if (this.#thawed !== undefined && base >= this.#thawedBase) {
      this.#thawedAt = this.lastSeq
      return true
    }
    for (let seq = base + 1; seq <= this.#floor; seq++) if (this.#thaw(seq) === undefined) return false
    // Every entry after `base` is thawed now, and those cooling from now on join them.
    if (base < this.#floor) this.#thawedBase = Math.min(this.#thawedBase, base)
    return true
  }

  /** Entries with seq > `base`, oldest first; undefined when the history no longer reaches back. */
  since(base: number): HistoryEntry[] | undefined {
    if (base >= this.#floor) return base > this.lastSeq ? undefined : this.#entries.slice(this.#head + (base - this.#floor))
    if (base < this.#coldFloor) return undefined
    const cold: HistoryEntry[] = []
    for (let seq = base + 1; seq <= this.#floor; seq++) {
      const e = this.#thaw(seq)
      if (e === undefined) return undefined
      cold.push(e)
    }
    return cold.concat(this.#entries.slice(this.#head))
  }

  #markPlain(seq: number, plain: boolean): void {
    if (!plain && this.#plain === undefined) return
    // Enough bits for every cold seq (at most `limit` of them), made when the first plain one cools.
    const plainBits = (this.#plain ??= new Uint8Array((Math.min(this.limit, 1 << 20) >> 3) + 1))
    const bit = seq % (plainBits.length << 3)
    if (plain) plainBits[bit >> 3]! |= 1 << (bit & 7)
    else plainBits[bit >> 3]! &= ~(1 << (bit & 7))
  }

  #isPlain(seq: number): boolean {
    const plainBits = this.#plain
    if (plainBits === undefined || this.lastSeq - seq >= plainBits.length << 3) return false
    const bit = seq % (plainBits.length << 3)
    return (plainBits[bit >> 3]! & (1 << (bit & 7))) !== 0
  }

  #thaw(seq: number): HistoryEntry | undefined {
    this.#thawedAt = this.lastSeq
    const thawed = (this.#thawed ??= new Map())
    let e = thawed.get(seq)
    if (e === undefined) {
      e = this.cold?.at(seq)
      if (e === undefined || e.seq !== seq) return undefined
      if (this.#isPlain(seq)) e.sent = e.op
      thawed.set(seq, e)
    }
    return e
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
