import type { EndpointId } from '../ids.js'
import type { FragmentBody } from '../protocol/ops.js'
import { opOf } from './legacy.js'
import type { HistoryPlaces, IndexedEntry } from './history-places.js'
import type { HistoryEntry } from './op-history.js'
import { hasMove, interacts, isNoop, PlaceIndex, transformOp, type Op } from './ot.js'
import type { Replica } from './replica.js'

/**
 * Where the root puts a fragment: its op rewritten to follow what was sequenced since its
 * base (operational transformation), or why it cannot be placed (refused, or stale: the origin
 * rebases and sends it again). The Sequencer calls `place` for each fragment of a batch.
 */

/** A fragment accepted from below, waiting in the sequencer's batch. */
export interface Candidate {
  /** The received envelope, stamped rather than re-encoded when sequenced unchanged. */
  raw?: Uint8Array | undefined
  origin: EndpointId
  clientSeq: number
  base: number
  body: FragmentBody
  payload: Uint8Array
}

/** A fragment placed: its sequenced op, the op as sent, and the origin's chain to cache. */
/** `sent` undefined: how the origin sent it is not known here (a merged branch, see branch.ts). */
export type Placed = { op: Op; sent: Op | undefined; transformed: boolean; chain?: Chain | undefined }
export type Placement = Placed | { stale: string; minBase: number } | { reject: string }

/**
 * Per origin, for its changes made on `base`: `foreign`, everything sequenced by others since
 * `base` (up to `upTo`), in order, each carried past this origin's own changes sequenced
 * since `base` as it sent them. A change made on `base` is then transformed over these
 * alone, instead of over every entry with every own change in between (quadratic in a
 * burst); entries on unrelated paths cost a path comparison, not a transform.
 */
export interface Chain {
  base: number
  upTo: number
  foreign: Op[]
}

/** Transforms of own changes the general case may do for one fragment (see transformOverOwn). */
const TRANSFORM_BUDGET = 512

const VANISHED = 'what it changed was removed or replaced by a concurrent change (the removal wins)'

/** As a stale answer's minBase: the author's history diverged; it resyncs before sending again. */
export const DIVERGED = Number.MAX_SAFE_INTEGER

/**
 * Where a fragment goes: its op rewritten to follow every entry sequenced after its base.
 * The origin made it on (state at base) + its own changes sequenced since, as it sent them
 * (it sends a change at once only while none of those was rebased, see Replica); a foreign
 * entry is first carried past those own changes, then the fragment is carried past it.
 * `indexed` false: every entry since the base is scanned instead of looked up in the history's
 * index (the reference the index is tested against, packages/core/test/placement-index.test.ts).
 */

export function place(
  c: Candidate,
  state: unknown,
  r: Replica,
  chains: ReadonlyMap<EndpointId, Chain>,
  lastRefused: number,
  prepared: ReadonlyArray<{ entry: HistoryEntry }>,
  indexed = true,
): Placement {
  if (c.body.patches !== undefined) {
    // A peer from before operations: positional patches, applied where they point.
    try {
      const op = opOf(c.body, state)
      return { op, sent: op, transformed: false }
    } catch (error) {
      return { reject: `its patches do not apply to the current document (${(error as Error).message})` }
    }
  }
  if (c.body.rejections < lastRefused) {
    return { stale: 'it was made on top of a change of yours the root refused; it is rebased and sent again', minBase: 0 }
  }
  // Made on a history this root does not have (its author followed another root, one that went
  // on while this one was paused or cut off): not a refusal. The author takes this root's
  // snapshot, rebases the change onto it, and sends it again (ERR_DIVERGED).
  if (c.base > r.seq) return { stale: `its base seq ${c.base} is ahead of the document (seq ${r.seq}): your history is not the root's`, minBase: DIVERGED }
  if (!r.history.covers(c.base)) {
    return { stale: `its base seq ${c.base} is older than the root's history of operations`, minBase: r.seq }
  }
  const sent = c.body.op
  const cached = chains.get(c.origin)
  const from = cached && cached.base === c.base ? cached.upTo : c.base
  const foreign: Op[] = from === c.base ? [] : [...cached!.foreign]
  const since = (seq: number): HistoryEntry[] => [...(r.history.since(Math.min(seq, r.seq)) ?? []), ...prepared.map((p) => p.entry)].filter((e) => e.seq > seq)
  // The index follows the hot entries and those thawed for a writer far behind (covers above); an older base is scanned.
  const index = indexed && c.base >= r.history.indexFloor ? placesOf(r, prepared) : undefined
  if (index !== undefined) {
    // Own changes after the base that this chain did not follow: the general case.
    if (index.hasOwnAfter(c.origin, from)) return placeOverOwnIndexed(c, index, () => since(c.base))
    for (const e of since(from)) foreign.push(e.op)
  } else {
    for (const e of since(from)) {
      if (e.origin === c.origin) return placeOverOwn(c, since(c.base))
      foreign.push(e.op)
    }
  }
  try {
    let op = sent
    for (let i = 0; i < foreign.length; i++) {
      const f = foreign[i]!
      // An entry on places this change does not touch leaves it as it is, and is left as it is
      // by it (transformOp gives back its input for ops that do not interact, moves included):
      // a footprint comparison instead of two transforms. A writer with a window of 200 among
      // four is placed over ~600 such entries per fragment, almost all of them unrelated.
      if (op === null || f === null || !interacts(op, f)) continue
      foreign[i] = transformOp(f, op, false)
      op = transformOp(op, f, true)
    }
    if (isNoop(op) && !isNoop(sent)) return { reject: VANISHED }
    return { op, sent, transformed: op !== sent, chain: { base: c.base, upTo: 0, foreign } }
  } catch (error) {
    return { reject: `its operation cannot be transformed over concurrent changes (${(error as Error).message})` }
  }
}

/**
 * The root's index of its history and of the batch being placed (see HistoryPlaces), brought
 * up to date; undefined where the two do not follow each other (then everything is scanned).
 */
function placesOf(r: Pick<Replica, 'history' | 'seq'>, prepared: ReadonlyArray<{ entry: HistoryEntry }>): HistoryPlaces | undefined {
  const h = r.history
  if (r.seq !== h.lastSeq || (prepared.length > 0 && prepared[0]!.entry.seq !== h.lastSeq + 1)) return undefined
  const top = prepared.length > 0 ? prepared[prepared.length - 1]!.entry.seq : h.lastSeq
  const index = h.places
  index.sync({ floor: h.indexFloor, top, at: (seq) => (seq <= h.lastSeq ? h.at(seq) : prepared[seq - h.lastSeq - 1]?.entry) })
  return index.last === top ? index : undefined
}

/**
 * The general case through the index: the same answer as `placeOverOwn` over every entry
 * since the base, computed over the entries that can change it. Without a move anywhere in
 * play, an entry on places neither this change nor any own change in flight touches is
 * neither carried past the own changes nor changes this one (ops that do not interact
 * commute, and a transform without moves never takes a change to another place), so it is
 * left out; with a move, every entry is gone through.
 */
function placeOverOwnIndexed(c: Candidate, index: HistoryPlaces, all: () => HistoryEntry[]): Placement {
  const sent = c.body.op!
  const theirs = (e: IndexedEntry): boolean => e.origin !== c.origin
  // The common case (see transformOverOwn's `quiet`): found from the index alone.
  if (!index.hasIrregularAfter(c.origin, c.base) && !index.interacting(sent, c.base, theirs)) return { op: sent, sent, transformed: false }
  if (sent !== null && hasMove(sent)) return placeOverOwn(c, all())
  const own = index.ownAfter(c.origin, c.base) as HistoryEntry[]
  // (an own change whose sent form is unknown or moves: the scan answers)
  if (index.hasIrregularAfter(c.origin, c.base)) return placeOverOwn(c, all())
  const picked = new Map<number, HistoryEntry>()
  let moves = false
  const pick = (e: IndexedEntry): void => {
    if (e.origin === c.origin || picked.has(e.seq)) return
    picked.set(e.seq, e as HistoryEntry)
    if (hasMove(e.op)) moves = true
  }
  index.interacting(sent, c.base, pick)
  for (const o of own) index.interacting(o.sent!, c.base, pick)
  if (moves) return placeOverOwn(c, all())
  const entries = [...own, ...picked.values()].sort((a, b) => a.seq - b.seq)
  return placeOverOwn(c, entries)
}

/**
 * The general case, without a cached chain: own changes sequenced after the base (a chain
 * this root did not follow from its start). Each foreign entry is carried past the own
 * changes sequenced after it, then the fragment past that.
 */
function placeOverOwn(c: Candidate, entries: HistoryEntry[]): Placement {
  try {
    return transformOverOwn(c, entries)
  } catch (error) {
    return { reject: `its operation cannot be transformed over concurrent changes (${(error as Error).message})` }
  }
}

function transformOverOwn(c: Candidate, entries: HistoryEntry[]): Placement {
  let op: Op = c.body.op!
  const sent = op
  // The common case: no foreign entry touches what this change touches, and no own change
  // moves anything (so carrying foreign entries past them cannot bring one here): nothing
  // to transform, whatever the own changes in between.
  let quiet = true
  for (const e of entries) {
    if (e.origin === c.origin) {
      if (e.sent === undefined || hasMove(e.sent)) {
        quiet = false
        break
      }
    } else if (e.op !== null && sent !== null && interacts(sent, e.op)) {
      quiet = false
      break
    }
  }
  if (quiet) return { op: sent, sent, transformed: false }
  const own: Op[] = []
  let lastOwn = 0
  for (const e of entries) {
    if (e.origin !== c.origin) continue
    if (e.sent === undefined) lastOwn = e.seq
    own.push(e.sent ?? null)
  }
  // Own changes sequenced by a previous root: how they were sent is not known here.
  if (lastOwn > 0) return { stale: 'it follows changes of yours sequenced before this root took over', minBase: lastOwn }
  let lastOwnSeq = 0
  for (const e of entries) if (e.origin === c.origin) lastOwnSeq = e.seq
  // Foreign entries on places none of the own changes touch need no carrying past them.
  const ownPlaces = new PlaceIndex()
  for (const o of own) ownPlaces.add(o)
  let k = 0
  let transformed = false
  let work = 0
  for (const e of entries) {
    if (e.origin === c.origin) {
      k++
      continue
    }
    let h = e.op
    if (ownPlaces.touches(h)) {
      // Many own changes in flight, many others' changes on the same places: quadratic. Past
      // a budget the origin is asked to send it again once its own changes are sequenced
      // (then nothing of its own follows the base and this costs one pass), so the root's
      // event loop (heartbeats included) never stalls on one fragment.
      work += own.length - k
      if (work > TRANSFORM_BUDGET) return { stale: 'it follows many changes of yours still in flight on contended places', minBase: lastOwnSeq }
      for (let j = k; j < own.length; j++) {
        const next = transformOp(own[j]!, h, true)
        h = transformOp(h, own[j]!, false)
        if (next !== own[j]) ownPlaces.add(next) // a move may have taken it elsewhere
        own[j] = next
      }
    }
    const next = transformOp(op, h, true)
    if (next !== op) transformed = true
    op = next
  }
  if (isNoop(op) && !isNoop(sent)) return { reject: VANISHED }
  return { op, sent, transformed }
}
