import type { EndpointId } from '../ids.js'
import { hasMove, places, SEP, type Op } from './ot.js'

/**
 * The root's recent sequenced entries indexed by the places they touch and by origin, so that
 * placing a fragment costs the entries that interact with it rather than every entry since its
 * base. With many changes in flight per writer (a window of 200 over 4 writers) a fragment's
 * base is ~800 entries back and its own earlier changes follow that base; scanning them all
 * for each fragment made the root quadratic in the window.
 *
 * It follows a source (the op history, then the batch being placed) lazily: `sync` appends
 * what is new and drops a tail that no longer matches (a batch that was not sequenced after
 * all, a history reset by a snapshot), by comparing entries by identity.
 */
export interface IndexedEntry {
  seq: number
  origin: EndpointId
  op: Op
  sent?: Op
}

/** Where the indexed entries come from: entry `seq` for seq in (floor, top]. */
export interface EntrySource {
  floor: number
  top: number
  at(seq: number): IndexedEntry | undefined
}

/** The ancestors of a place, nearest first, '' (the root) last. */
function ancestors(p: string, visit: (a: string) => boolean | void): boolean {
  for (let at = p.lastIndexOf(SEP); at >= 0; at = at === 0 ? -1 : p.lastIndexOf(SEP, at - 1)) if (visit(p.slice(0, at)) === true) return true
  return false
}

function add(map: Map<string, number[]>, key: string, seq: number): void {
  const list = map.get(key)
  if (list === undefined) map.set(key, [seq])
  else if (list[list.length - 1] !== seq) list.push(seq)
}

function drop(map: Map<string, number[]>, key: string, seq: number): void {
  const list = map.get(key)
  if (list === undefined || list[list.length - 1] !== seq) return
  list.pop()
  if (list.length === 0) map.delete(key)
}

/** The index of the first seq in an ascending list that is > seq. */
function firstAfter(list: readonly number[], seq: number): number {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (list[mid]! > seq) hi = mid
    else lo = mid + 1
  }
  return lo
}

export class HistoryPlaces {
  /** Entries by seq - #first; those at or below the source's floor are dead (pruned in bulk). */
  #entries: IndexedEntry[] = []
  #first = 1
  /** Place → seqs of the entries touching exactly that place. */
  readonly #at = new Map<string, number[]>()
  /** Place → seqs of the entries touching it or a place below it. */
  readonly #under = new Map<string, number[]>()
  readonly #byOrigin = new Map<EndpointId, number[]>()
  /** Origin → seqs of its entries whose sent form is unknown or moves something. */
  readonly #irregular = new Map<EndpointId, number[]>()

  get last(): number {
    return this.#first + this.#entries.length - 1
  }

  /** Brings the index to the source: drops a tail that is not the source's, appends what is new. */
  sync(source: EntrySource): void {
    const { floor, top } = source
    if (this.#first > floor + 1 || this.last < floor || floor + 1 - this.#first > Math.max(1024, this.#entries.length >> 1)) this.#rebuild(floor)
    while (this.last > floor && (this.last > top || this.#entries[this.last - this.#first] !== source.at(this.last))) this.#pop()
    for (let seq = this.last + 1; seq <= top; seq++) {
      const e = source.at(seq)
      if (e === undefined || e.seq !== seq) {
        // Not contiguous: nothing is known past here (queries only reach `last`).
        break
      }
      this.#push(e)
    }
  }

  /** True if `origin` has an entry after `seq`. */
  hasOwnAfter(origin: EndpointId, seq: number): boolean {
    const list = this.#byOrigin.get(origin)
    return list !== undefined && list[list.length - 1]! > seq
  }

  /** True if `origin` has an entry after `seq` whose sent form is unknown or moves something. */
  hasIrregularAfter(origin: EndpointId, seq: number): boolean {
    const list = this.#irregular.get(origin)
    return list !== undefined && list[list.length - 1]! > seq
  }

  /** `origin`'s entries after `seq`, oldest first. */
  ownAfter(origin: EndpointId, seq: number): IndexedEntry[] {
    const list = this.#byOrigin.get(origin) ?? []
    const out: IndexedEntry[] = []
    for (let i = firstAfter(list, seq); i < list.length; i++) out.push(this.#entries[list[i]! - this.#first]!)
    return out
  }

  /**
   * Calls `visit` with the seq of each entry after `seq` whose op interacts with `op` (see
   * `places`), possibly more than once, newest first per place; stops when `visit` says true.
   * Returns true if it was stopped.
   */
  interacting(op: Op, seq: number, visit: (e: IndexedEntry) => boolean | void): boolean {
    if (op === null) return false
    const scan = (list: readonly number[] | undefined): boolean => {
      if (list === undefined) return false
      for (let i = list.length - 1; i >= 0 && list[i]! > seq; i--) if (visit(this.#entries[list[i]! - this.#first]!) === true) return true
      return false
    }
    for (const p of places(op)) {
      // entries at or below p, then entries above it
      if (scan(this.#under.get(p))) return true
      if (ancestors(p, (a) => scan(this.#at.get(a)))) return true
    }
    return false
  }

  #push(e: IndexedEntry): void {
    const seq = e.seq
    this.#entries.push(e)
    if (e.op !== null) {
      for (const p of places(e.op)) {
        add(this.#at, p, seq)
        add(this.#under, p, seq)
        ancestors(p, (a) => void add(this.#under, a, seq))
      }
    }
    add(this.#byOrigin as Map<string, number[]>, e.origin, seq)
    if (e.sent === undefined || hasMove(e.sent)) add(this.#irregular as Map<string, number[]>, e.origin, seq)
  }

  #pop(): void {
    const e = this.#entries.pop()!
    const seq = e.seq
    if (e.op !== null) {
      for (const p of places(e.op)) {
        drop(this.#at, p, seq)
        drop(this.#under, p, seq)
        ancestors(p, (a) => void drop(this.#under, a, seq))
      }
    }
    drop(this.#byOrigin as Map<string, number[]>, e.origin, seq)
    drop(this.#irregular as Map<string, number[]>, e.origin, seq)
  }

  /** Empty, continuing after `floor` (what is older is dead); `sync` refills it. */
  #rebuild(floor: number): void {
    this.#entries = []
    this.#first = floor + 1
    this.#at.clear()
    this.#under.clear()
    this.#byOrigin.clear()
    this.#irregular.clear()
  }
}
