import type { EndpointId } from '../dist/ids.js'
import type { LogEntry } from '../dist/document/doc-log.js'
import { EMPTY_HISTORY, nextHistory, type HistoryChain } from '../dist/document/history-chain.js'

/**
 * The DocLog as it was before its compact storage (an object and an envelope view per entry,
 * kept as appended): the reference doc-log-reference.test.ts compares the DocLog against.
 */
export class ReferenceDocLog {
  #entries: LogEntry[] = []
  #start = 0
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
    return this.#entries.length - this.#start
  }

  get bytes(): number {
    return this.#bytes
  }

  /** Seq of the oldest entry kept, or undefined when empty. */
  get firstSeq(): number | undefined {
    return this.#entries[this.#start]?.seq
  }

  append(entry: LogEntry): void {
    // A gap (never expected: replicas apply in seq order) leaves the fingerprint unknown.
    this.#headChain = this.#headChain !== undefined && entry.seq === this.#headSeq + 1 ? nextHistory(this.#headChain, entry.seq, entry.origin, entry.clientSeq) : undefined
    this.#headSeq = entry.seq
    entry.chain = this.#headChain
    this.#entries.push(entry)
    this.#bytes += entry.envelope.byteLength
    while (this.length > this.limit || (this.#bytes > this.bytesLimit && this.length > 1)) {
      this.#bytes -= this.#entries[this.#start]!.envelope.byteLength
      // Release the envelope now: the dead prefix may stay in the array until compaction.
      this.#entries[this.#start] = undefined as unknown as LogEntry
      this.#start++
    }
    // Compact the array once the dead prefix dominates, keeping appends O(1) amortized.
    if (this.#start > 1024 && this.#start * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#start)
      this.#start = 0
    }
  }

  /** Envelopes after `seq`, or undefined if the log no longer reaches back that far. */
  since(seq: number): Uint8Array[] | undefined {
    const first = this.firstSeq
    if (first === undefined) return seq === 0 ? [] : undefined
    if (first > seq + 1) return undefined
    const from = this.#start + (seq + 1 - first)
    return this.#entries.slice(Math.max(from, this.#start)).map((e) => e.envelope)
  }

  /** The entry at `seq`, if still kept. */
  at(seq: number): LogEntry | undefined {
    const first = this.firstSeq
    if (first === undefined || seq < first) return undefined
    return this.#entries[this.#start + (seq - first)]
  }

  /** Entries with seq > `seq`, oldest first. */
  entriesAfter(seq: number): LogEntry[] {
    const first = this.firstSeq
    if (first === undefined) return []
    return this.#entries.slice(this.#start + Math.max(0, seq + 1 - first))
  }

  /** The seq a given change was sequenced at, if still in the log. */
  find(origin: EndpointId, clientSeq: number): number | undefined {
    for (let i = this.#entries.length - 1; i >= this.#start; i--) {
      const e = this.#entries[i]!
      if (e.origin === origin && e.clientSeq === clientSeq) return e.seq
    }
    return undefined
  }

  /** Empties the log; the history now stands at `seq` with fingerprint `chain` (undefined: unknown). */
  clear(seq = 0, chain: HistoryChain | undefined = seq === 0 ? EMPTY_HISTORY : undefined): void {
    this.#entries = []
    this.#start = 0
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
    return this.at(seq)?.chain
  }
}
