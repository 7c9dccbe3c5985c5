import { produceUnfrozen } from './immer.js'
import { freezeDeep } from './ot.js'

// What a recipe touched, read from immer's drafts at its end (recordIdentity): where each element
// of a changed array came from, and which keys of a changed object may differ. The diff compares
// only those (diff.ts), and freezeChanged freezes the result along them.

/**
 * For arrays the recipe changed: the base array, and for each index of its new version the
 * element it started as (an edited element is a new object, but immer's draft knows its
 * original). Collected by {@link recordIdentity} inside the recipe; without it, edited
 * elements are found by the pairing heuristic of the diff (diff.ts).
 */
export type Identity = Map<object, unknown[]>

// immer's draft state (immer 10 and 11); read-only use, and only of drafts the recipe touched.
const DRAFT_STATE = Symbol.for('immer-state')
interface DraftState {
  modified_: boolean
  base_: object
  copy_: Record<string | number, unknown> | unknown[] | null
  /** immer 11: keys set (true) or deleted (false) on this draft. */
  assigned_?: Map<string | number, boolean> | undefined
  /** immer 11: the draft this one was created under, and at which key. */
  parent_?: DraftState | undefined
  key_?: string | number | undefined
  draft_?: unknown
  /** immer 11: every draft of this produce call. */
  scope_?: { drafts_?: unknown } | undefined
}
const stateOf = (v: unknown): DraftState | undefined => (typeof v === 'object' && v !== null ? ((v as Record<symbol, unknown>)[DRAFT_STATE] as DraftState | undefined) : undefined)

/**
 * For an object the recipe changed (its new version, as immer returns it): the keys that may
 * differ from `base`, so the diff compares those instead of every key (a change to one shape
 * of a 10,000-shape map compared 10,000 keys). `ambiguous`: a key of `base` was set, perhaps
 * after being deleted (immer then moves it to the end), so key order must be checked in full.
 */
export interface ChangedKeys {
  base: object
  keys: Array<string | number>
  ambiguous: boolean
}
const changedKeys = new WeakMap<object, ChangedKeys>()

/**
 * Freezes the result of a recipe run by immer without auto-freeze, after `recordIdentity`: a
 * copy the recipe made is frozen and only its changed keys are walked (the rest are the frozen
 * state's own values); anything else new (a value the recipe assigned, a list, a result the
 * recipe returned instead of changing its draft) is frozen deeply, as immer would.
 */
export function freezeChanged(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return
  const changed = changedKeys.get(value)
  Object.freeze(value)
  if (changed !== undefined) {
    for (const key of changed.keys) freezeChanged((value as Record<string, unknown>)[key as string])
  } else if (Array.isArray(value)) {
    for (const v of value) freezeChanged(v)
  } else {
    for (const key in value) freezeChanged((value as Record<string, unknown>)[key])
  }
}

const isPlainCopy = (copy: object): copy is Record<string, unknown> => !Array.isArray(copy) && !(copy instanceof Map) && !(copy instanceof Set)

/**
 * Call at the end of a recipe, on its draft: records where every element of every changed
 * array came from, and which keys of every changed object may differ. Walks only modified
 * drafts (what immer's own finalize walks); an object's draft children are found from immer's
 * list of drafts and the keys it assigned, not by scanning its keys.
 */
export function recordIdentity(draft: unknown, out: Identity): void {
  const state = stateOf(draft)
  if (!state || !state.modified_ || !state.copy_) return
  // immer 11 keeps every draft of the call and where it was made; without that (or if this
  // immer's internals do not give the answer a scan gives, see keysRecordWorks), every key is
  // scanned and nothing is recorded.
  const drafts = state.scope_?.drafts_
  const children = Array.isArray(drafts) && state.assigned_ instanceof Map && keysRecordWorks() ? childIndex(drafts) : undefined
  walk(state, out, children)
}

/** A draft's state: immer 11.2.10 lists drafts in its scope, later versions their states. */
const draftState = (d: unknown): DraftState | undefined => stateOf(d) ?? (typeof d === 'object' && d !== null && 'base_' in d && 'modified_' in d ? (d as DraftState) : undefined)

let keysRecord: boolean | undefined
/**
 * Whether the recorded keys are right with the immer this process runs (its internals are
 * read, not its API, and a minor version changed them once): checked once, on a recipe that
 * changes a nested object, sets, deletes and adds keys and moves a draft, against a scan.
 */
function keysRecordWorks(): boolean {
  if (keysRecord !== undefined) return keysRecord
  keysRecord = false
  try {
    const base = freezeDeep({ a: { x: 1, y: { z: 1 } }, b: 1, c: 1, d: { w: 1 }, e: [{ v: 1 }], f: 1 })
    let drafts: DraftState | undefined
    const after = produceUnfrozen(base, (d) => {
      d.a.y.z = 2
      d.b = 2
      delete (d as { c?: number }).c
      ;(d as Record<string, unknown>).g = { n: 1 }
      ;(d as Record<string, unknown>).h = d.d
      delete (d as { d?: unknown }).d
      d.e[0]!.v = 2
      void d.f
      const state = stateOf(d)
      const list = state?.scope_?.drafts_
      if (state && Array.isArray(list) && state.assigned_ instanceof Map) {
        drafts = state
        walk(state, new Map(), childIndex(list))
      }
    })
    const same = (b: Record<string, unknown>, a: Record<string, unknown>): boolean => {
      const want = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) => b[k] !== a[k]).sort()
      const got = changedKeys.get(a)
      return got !== undefined && got.base === b && JSON.stringify([...new Set(got.keys.map(String))].sort()) === JSON.stringify(want)
    }
    const a = after as unknown as Record<string, Record<string, unknown>>
    const b = base as unknown as Record<string, Record<string, unknown>>
    keysRecord =
      drafts !== undefined &&
      same(b, a) &&
      same(b.a!, a.a!) &&
      same(b.a!.y as Record<string, unknown>, a.a!.y as Record<string, unknown>) &&
      same((b.e as unknown as Array<Record<string, unknown>>)[0]!, (a.e as unknown as Array<Record<string, unknown>>)[0]!)
  } catch {
    keysRecord = false
  }
  return keysRecord
}

/** Object draft → the drafts made under it (immer's get trap puts each at its key_ in copy_). */
function childIndex(drafts: unknown[]): Map<DraftState, DraftState[]> {
  const index = new Map<DraftState, DraftState[]>()
  for (const d of drafts) {
    const s = draftState(d)
    const parent = s?.parent_
    if (s === undefined || parent === undefined || s.key_ === undefined) continue
    const list = index.get(parent)
    if (list) list.push(s)
    else index.set(parent, [s])
  }
  return index
}

function walk(state: DraftState, out: Identity, children: Map<DraftState, DraftState[]> | undefined): void {
  if (!state.modified_ || !state.copy_) return
  const copy = state.copy_
  if (Array.isArray(copy)) {
    out.set(
      state.base_,
      copy.map((el) => stateOf(el)?.base_ ?? el),
    )
    for (const el of copy) {
      const s = stateOf(el)
      if (s) walk(s, out, children)
    }
  } else if (isPlainCopy(copy)) {
    if (children === undefined || state.assigned_ === undefined) {
      for (const key of Object.keys(copy)) {
        const s = stateOf(copy[key])
        if (s) walk(s, out, children)
      }
      return
    }
    // The draft values of copy_: those made here and still at their key, and those assigned
    // (a draft moved here from elsewhere). Every other value is the base's, unchanged.
    const keys: Array<string | number> = []
    let ambiguous = false
    const base = state.base_ as Record<string, unknown>
    for (const [key, set] of state.assigned_) {
      keys.push(key)
      if (set && Object.prototype.hasOwnProperty.call(base, key)) ambiguous = true
      const s = set ? stateOf(copy[key as string]) : undefined
      if (s) walk(s, out, children)
    }
    for (const s of children.get(state) ?? []) {
      if (copy[s.key_ as string] !== s.draft_ || state.assigned_.has(s.key_!)) continue
      if (s.modified_) keys.push(s.key_!)
      walk(s, out, children)
    }
    changedKeys.set(copy, { base: state.base_, keys, ambiguous })
  }
}

/** The keys of `value` (a copy a recipe made) that may differ from its base, when recordIdentity recorded them. */
export function changedKeysOf(value: object): ChangedKeys | undefined {
  return changedKeys.get(value)
}
