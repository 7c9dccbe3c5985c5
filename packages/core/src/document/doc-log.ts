import type { EndpointId } from '../ids.js'
import { EMPTY_HISTORY, nextHistory, type HistoryChain } from './history-chain.js'
import { BIG, LogBlock } from './log-block.js'

/** One sequenced fragment as a replica keeps it: its encoded envelope and what dedupe needs. */
export interface LogEntry {
  readonly seq: number
  readonly origin: EndpointId
  readonly clientSeq: number
  /** The epoch it was sequenced in: two histories agree at a seq only if epochs match too. */
  readonly epoch: number
  readonly envelope: Uint8Array
  /** The fingerprint of the history up to and including this fragment (as kept by the log: ignored by `append`; see history-chain.ts). */
  chain?: HistoryChain | undefined
}

/**
 * The bounded log of a document's most recent sequenced fragments, kept by every replica so
 * it can answer its children's catch-up requests (the nearest ancestor answers, not the root).
 *
 * Bounded twice: by count (`limit`) and by the bytes of the envelopes it holds (`bytesLimit`).
 * A count alone let 400 changes of 1 MB hold 400 MB; now the oldest entries go as soon as
 * either bound is passed (the newest entry always stays, so a catch-up from just before it can
 * still be answered). A child whose catch-up reaches back past the log gets a snapshot.
 *
 * Every replica keeps one (a leaf too: its log serves restores, branches and rescues), so it is
 * stored compactly: entries in blocks of columns with their envelopes copied into one slab per
 * block (see LogBlock); `at` and `entriesAfter` make LogEntry objects on demand. The first
 * block starts at 2 entries (a document with few changes stays small) and doubles up to 1024.
 */
export class DocLog {
  /** The blocks holding the entries at positions #start..#end - 1, oldest first. */
  #blocks: LogBlock[] = []
  #start = 0
  #end = 0
  #bytes = 0
  /** Seq and fingerprint of the newest fragment appended (or of the base a `clear` set). */
  #headSeq = 0
  #headChain: HistoryChain | undefined = EMPTY_HISTORY
  /** Counts `clear`s: a log whose generation is unchanged still continues the same history. */
  #generation = 0

  constructor(
    readonly limit: number,
    readonly bytesLimit = Infinity,
  ) {}

  get length(): number {
    return this.#end - this.#start
  }

  get bytes(): number {
    return this.#bytes
  }

  /** Seq of the oldest entry kept, or undefined when empty. */
  get firstSeq(): number | undefined {
    if (this.#end === this.#start) return undefined
    const b = this.#blocks[0]!
    return b.seq(this.#start - b.base)
  }

  append(entry: LogEntry): void {
    // A gap (never expected: replicas apply in seq order) leaves the fingerprint unknown.
    this.#headChain = this.#headChain !== undefined && entry.seq === this.#headSeq + 1 ? nextHistory(this.#headChain, entry.seq, entry.origin, entry.clientSeq) : undefined
    this.#headSeq = entry.seq
    let last = this.#blocks[this.#blocks.length - 1]
    // The first block grows (while all its entries are kept) up to LAST_BLOCK entries; then
    // blocks of LAST_BLOCK follow, each dropped whole once all its entries have left.
    if (last !== undefined && last.full && last.capacity < LAST_BLOCK && this.#blocks.length === 1 && this.#start === last.base) last.grow(last.capacity * 2)
    else if (last === undefined || last.full) {
      last?.seal()
      const capacity = last === undefined ? FIRST_BLOCK : Math.min(LAST_BLOCK, last.capacity * 2)
      // Bytes for its envelopes if they are like this one (the first block: for this one alone).
      const n = entry.envelope.byteLength
      last = new LogBlock(this.#end, capacity, n > BIG ? 0 : last === undefined ? n : n * capacity)
      this.#blocks.push(last)
    }
    last.push(entry.seq, entry.origin, entry.clientSeq, entry.epoch, this.#headChain, entry.envelope)
    this.#end++
    this.#bytes += entry.envelope.byteLength
    while (this.length > this.limit || (this.#bytes > this.bytesLimit && this.length > 1)) {
      const b = this.#blocks[0]!
      const i = this.#start - b.base
      this.#bytes -= b.size(i)
      b.release(i)
      this.#start++
      if (b.full && i === b.length - 1) this.#blocks.shift()
    }
  }

  /** Envelopes after `seq`, or undefined if the log no longer reaches back that far. */
  since(seq: number): Uint8Array[] | undefined {
    const first = this.firstSeq
    if (first === undefined) return seq === 0 ? [] : undefined
    if (first > seq + 1) return undefined
    const out: Uint8Array[] = []
    this.#each(Math.trunc(Math.max(this.#start + (seq + 1 - first), this.#start)), (b, i) => void out.push(b.envelope(i)))
    return out
  }

  /** The entry at `seq`, if still kept. */
  at(seq: number): LogEntry | undefined {
    const first = this.firstSeq
    if (first === undefined || seq < first) return undefined
    const pos = this.#start + (seq - first)
    if (!Number.isInteger(pos) || pos >= this.#end) return undefined
    const b = this.#blockOf(pos)
    return entryOf(b, pos - b.base)
  }

  /** Entries with seq > `seq`, oldest first. */
  entriesAfter(seq: number): LogEntry[] {
    const first = this.firstSeq
    if (first === undefined) return []
    const out: LogEntry[] = []
    this.#each(Math.trunc(this.#start + Math.max(0, seq + 1 - first)), (b, i) => void out.push(entryOf(b, i)))
    return out
  }

  /** The seq a given change was sequenced at, if still in the log. */
  find(origin: EndpointId, clientSeq: number): number | undefined {
    for (let k = this.#blocks.length - 1; k >= 0; k--) {
      const b = this.#blocks[k]!
      for (let i = b.length - 1; i >= Math.max(0, this.#start - b.base); i--) if (b.clientSeq(i) === clientSeq && b.origin(i) === origin) return b.seq(i)
    }
    return undefined
  }

  /** Empties the log; the history now stands at `seq` with fingerprint `chain` (undefined: unknown). */
  clear(seq = 0, chain: HistoryChain | undefined = seq === 0 ? EMPTY_HISTORY : undefined): void {
    this.#blocks = []
    this.#start = 0
    this.#end = 0
    this.#bytes = 0
    this.#headSeq = seq
    this.#headChain = chain
    this.#generation++
  }

  /** Changes whenever the log is cleared (a snapshot or a restore replaced the history). */
  get generation(): number {
    return this.#generation
  }

  /** The history's fingerprint at `seq`, when this log can tell (undefined otherwise). */
  chainAt(seq: number): HistoryChain | undefined {
    if (seq === this.#headSeq) return this.#headChain
    const first = this.firstSeq
    if (first === undefined || seq < first) return undefined
    const pos = this.#start + (seq - first)
    if (!Number.isInteger(pos) || pos >= this.#end) return undefined
    const b = this.#blockOf(pos)
    return b.chain(pos - b.base)
  }

  /** The block holding log position `pos` (a kept one). */
  #blockOf(pos: number): LogBlock {
    const blocks = this.#blocks
    let lo = 0
    let hi = blocks.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (blocks[mid]!.base <= pos) lo = mid
      else hi = mid - 1
    }
    return blocks[lo]!
  }

  /** Calls `visit` with each kept entry from position `from` on, oldest first. */
  #each(from: number, visit: (b: LogBlock, i: number) => void): void {
    if (from >= this.#end) return
    const blocks = this.#blocks
    for (let k = blocks.indexOf(this.#blockOf(from)); k < blocks.length; k++) {
      const b = blocks[k]!
      for (let i = Math.max(0, from - b.base); i < b.length; i++) visit(b, i)
    }
  }
}

/** Entries per block: the first after a start or a clear, and at most (blocks double up to it). */
const FIRST_BLOCK = 2
const LAST_BLOCK = 1024

function entryOf(b: LogBlock, i: number): LogEntry {
  return { seq: b.seq(i), origin: b.origin(i), clientSeq: b.clientSeq(i), epoch: b.epoch(i), envelope: b.envelope(i), chain: b.chain(i) }
}
