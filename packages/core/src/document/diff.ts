import fastDiff from 'fast-diff'
import * as json1 from 'ot-json1'
import { produceUnfrozen } from './immer.js'
import { codePoints, composeOps, editOp, freezeDeep, insertOp, moveOp, removeOp, replaceOp, type Op } from './ot.js'

type Path = Array<string | number>

/**
 * For arrays the recipe changed: the base array, and for each index of its new version the
 * element it started as (an edited element is a new object, but immer's draft knows its
 * original). Collected by {@link recordIdentity} inside the recipe; without it, edited
 * elements are found by the pairing heuristic below.
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
interface ChangedKeys {
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

/**
 * The operations a person would name for one `doc.change`, found by comparing the state
 * before and after the recipe. immer keeps the references of everything the recipe did not
 * touch, so:
 * - in an array, elements are matched by identity; unmatched old elements between the same
 *   two matched neighbours are paired with unmatched new ones in order and diffed in place
 *   (an element edited where it stands); the rest are removals, insertions and moves (the
 *   matched elements outside the longest run that kept its order);
 * - a string that edits a string becomes a text edit (fast-diff's inserted and deleted
 *   ranges), so concurrent typing into one field merges; one that rewrites it (see
 *   isRewrite) replaces it;
 * - object keys are set, removed or descended into; anything else is replaced.
 *
 * Returns null when nothing changed.
 */
export function diffToOp(before: unknown, after: unknown, identity?: Identity): Op {
  return diffWithOrder(before, after, identity).op
}

/**
 * The op, and whether applying it to `before` gives `after` down to the order of object keys
 * (false when the recipe deleted a key and set it again: immer moves it to the end, the op
 * replaces it in place). When true, `after` can stand for the applied op.
 */
export function diffWithOrder(before: unknown, after: unknown, identity?: Identity, byKeys = true): { op: Op; sameOrder: boolean } {
  // Changes outside lists are independent of each other: they are written straight into one
  // op (json1's write cursor). Each changed list is a sequence of ops composed on its own.
  const out = new Out()
  const order = { same: true, byKeys: byKeys && identity !== undefined }
  diff(before, after, [], out, identity, order)
  return { op: out.finish(), sameOrder: order.same }
}

type Order = { same: boolean; byKeys?: boolean }

/**
 * Where diff puts what it finds: outside lists, components written into one op; inside a
 * list (`sequence`), ops in the order they apply.
 */
class Out {
  readonly #cursor = json1.type.writeCursor()
  #written = false
  readonly #lists: Op[] = []
  constructor(readonly sequence?: Op[]) {}

  component(path: Path, c: { r?: true; i?: unknown; es?: unknown }): void {
    if (this.sequence) {
      if (c.es !== undefined) this.sequence.push(editOp(path, 'text-unicode', c.es))
      else if (c.r !== undefined && c.i !== undefined) this.sequence.push(replaceOp(path, true, c.i as never))
      else if (c.r !== undefined) this.sequence.push(removeOp(path))
      else this.sequence.push(insertOp(path, c.i as never))
      return
    }
    this.#written = true
    // writeAtPath takes paths in any order (the cursor resets between writes)
    if (c.r !== undefined) this.#cursor.writeAtPath(path, 'r', true)
    if (c.i !== undefined) this.#cursor.writeAtPath(path, 'i', c.i as never)
    if (c.es !== undefined) this.#cursor.writeAtPath(path, 'es', c.es as never)
  }

  /** A list's ops, composed. */
  list(op: Op): void {
    if (op === null) return
    if (this.sequence) this.sequence.push(op)
    else this.#lists.push(op)
  }

  finish(): Op {
    return composeAll([this.#written ? this.#cursor.get() : null, ...this.#lists].filter((o) => o !== null))
  }
}

/**
 * Composes a sequence of ops pairwise, in rounds: composing costs the size of both ops, so a
 * left fold over 1,000 inserts would be quadratic; rounds of pairs keep it n log n.
 */
function composeAll(ops: Op[]): Op {
  let round = ops
  while (round.length > 1) {
    const next: Op[] = []
    for (let i = 0; i < round.length; i += 2) next.push(i + 1 < round.length ? composeOps(round[i]!, round[i + 1]!) : round[i]!)
    round = next
  }
  return round[0] ?? null
}

function kind(v: unknown): 'array' | 'object' | 'string' | 'other' {
  if (typeof v === 'string') return 'string'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'object' && v !== null) return 'object'
  return 'other'
}

function diff(before: unknown, after: unknown, path: Path, out: Out, identity?: Identity, order: Order = { same: true }): void {
  if (before === after) return
  const k = kind(before)
  const edits = k === 'string' && typeof after === 'string' ? textEdits(before as string, after) : undefined
  if (k !== kind(after) || k === 'other' || (edits !== undefined && isRewrite(edits))) {
    if (before === undefined) out.component(path, { i: after })
    else if (after === undefined) out.component(path, { r: true })
    else if (!Object.is(before, after)) {
      out.component(path, { r: true, i: after })
      // below a list index a replace is a remove and an insert: the key moves to the end
      if (path.some((p) => typeof p === 'number')) order.same = false
    }
    return
  }
  if (edits !== undefined) return diffText(edits, path, out)
  if (k === 'array') return diffArray(before as unknown[], after as unknown[], path, out, identity, order)
  const b = before as Record<string, unknown>
  const a = after as Record<string, unknown>
  const changed = order.byKeys ? changedKeys.get(a) : undefined
  if (changed !== undefined && changed.base === b) {
    // The recipe's own record of what it touched (see recordIdentity): only those keys.
    let sameKeys = true
    for (const key of changed.keys) {
      const inB = Object.prototype.hasOwnProperty.call(b, key)
      const inA = Object.prototype.hasOwnProperty.call(a, key)
      if (inB !== inA) sameKeys = false
      if (inB && !inA) out.component([...path, key], { r: true })
      else if (inA && !inB) out.component([...path, key], { i: a[key] })
      else if (inA && b[key as string] !== a[key as string]) diff(b[key as string], a[key as string], [...path, key], out, identity, order)
    }
    // Deleted, added or edited in place, keys keep their order; set again, one may have moved.
    if (order.same && changed.ambiguous) {
      if (sameKeys) {
        // No key came or went: the order is the same if the two lists of keys are.
        const keysA = Object.keys(a)
        const keysB = Object.keys(b)
        for (let i = 0; i < keysA.length; i++) {
          if (keysA[i] !== keysB[i]) {
            order.same = false
            break
          }
        }
      } else sameKeyOrder(b, a, order)
    }
    return
  }
  for (const key of Object.keys(b)) {
    if (!Object.prototype.hasOwnProperty.call(a, key)) out.component([...path, key], { r: true })
  }
  const keysA = Object.keys(a)
  for (const key of keysA) {
    if (!Object.prototype.hasOwnProperty.call(b, key)) out.component([...path, key], { i: a[key] })
    else if (b[key] !== a[key]) diff(b[key], a[key], [...path, key], out, identity, order) // (no path array for an untouched key)
  }
  if (order.same) sameKeyOrder(b, a, order, keysA)
}

/** The keys both have must be in the same order, the new ones after them. */
function sameKeyOrder(b: Record<string, unknown>, a: Record<string, unknown>, order: Order, keysA = Object.keys(a)): void {
  const keysB = Object.keys(b)
  let i = 0
  let added = false
  for (const key of keysA) {
    if (!Object.prototype.hasOwnProperty.call(b, key)) {
      added = true
      continue
    }
    while (i < keysB.length && !Object.prototype.hasOwnProperty.call(a, keysB[i]!)) i++
    if (added || keysB[i] !== key) {
      order.same = false
      break
    }
    i++
  }
}

function textEdits(before: string, after: string): fastDiff.Diff[] {
  return alignEdits(fastDiff(before, after))
}

/**
 * Whether a new string rewrites the old one rather than edits it: something was inserted and
 * more of the old text was deleted than kept ("c3#15" → "c0#20", a field set to a new value).
 * Merging two concurrent rewrites character by character gives text neither author wrote
 * ("c30#1520"), so a rewrite replaces the value, and the later of two concurrent ones wins,
 * as a map's set does in Yjs. Typing (only insertions, only deletions, or a few characters
 * replaced in a longer text) stays a text edit and merges.
 */
function isRewrite(edits: fastDiff.Diff[]): boolean {
  let kept = 0
  let deleted = 0
  let inserted = 0
  for (const [type, s] of edits) {
    if (type === fastDiff.EQUAL) kept += s.length
    else if (type === fastDiff.DELETE) deleted += s.length
    else inserted += s.length
  }
  return inserted > 0 && deleted > kept
}

function diffText(edits: fastDiff.Diff[], path: Path, out: Out): void {
  const text: Array<number | string | { d: number }> = []
  for (const [type, s] of edits) {
    if (type === fastDiff.EQUAL) text.push(countPoints(s))
    else if (type === fastDiff.INSERT) text.push(s)
    else text.push({ d: countPoints(s) })
  }
  while (typeof text[text.length - 1] === 'number') text.pop()
  if (text.length > 0) out.component(path, { es: text })
}

/**
 * A diff of two strings is ambiguous where the typed text repeats its surroundings: typing
 * "(b)" between "(a)" and "(c)" can be read as inserting "b)(" after "(a)(". Locally the
 * result is the same; under concurrency it is not (someone else's insert at that place
 * would land inside a word). Like diff-match-patch's semantic lossless cleanup, each lone
 * insertion or deletion between two unchanged runs slides to where its edges fall on the
 * most natural boundaries, and where it keeps brackets balanced. Only the 64 characters
 * either side are considered.
 */
function alignEdits(diffs: fastDiff.Diff[]): fastDiff.Diff[] {
  for (let i = 0; i < diffs.length; i++) {
    const [type, edited] = diffs[i]!
    if (type === fastDiff.EQUAL) continue
    const prev = diffs[i - 1]
    const next = diffs[i + 1]
    // A lone insertion or deletion (not half of a replacement).
    if ((prev && prev[0] !== fastDiff.EQUAL) || (next && next[0] !== fastDiff.EQUAL)) continue
    const left = prev ? prev[1] : ''
    const right = next ? next[1] : ''
    const keepLeft = left.slice(0, Math.max(0, left.length - 64))
    const keepRight = right.slice(Math.min(right.length, 64))
    const l = [...left.slice(keepLeft.length)]
    const e = [...edited]
    const r = [...right.slice(0, right.length - keepRight.length)]
    // Slide fully left, then try every position to the right.
    while (l.length > 0 && e.length > 0 && l[l.length - 1] === e[e.length - 1]) {
      r.unshift(e.pop()!)
      e.unshift(l.pop()!)
    }
    let best = { score: -1, l: l.join(''), e: e.join(''), r: r.join('') }
    for (;;) {
      const leftChar = l.length > 0 ? l[l.length - 1] : [...keepLeft.slice(-2)].pop()
      const rightChar = r.length > 0 ? r[0] : [...keepRight.slice(0, 2)][0]
      const score = edgeScore(leftChar, e[0]) + edgeScore(e[e.length - 1], rightChar) + (balanced(e) ? 3 : 0)
      if (score > best.score) best = { score, l: l.join(''), e: e.join(''), r: r.join('') }
      if (r.length === 0 || e[0] !== r[0]) break
      l.push(e.shift()!)
      e.push(r.shift()!)
    }
    const newLeft = keepLeft + best.l
    const newRight = best.r + keepRight
    if (prev) prev[1] = newLeft
    else if (newLeft) {
      diffs.splice(i, 0, [fastDiff.EQUAL, newLeft])
      i++
    }
    diffs[i] = [type, best.e]
    if (next) next[1] = newRight
    else if (newRight) diffs.splice(i + 1, 0, [fastDiff.EQUAL, newRight])
  }
  return diffs.filter(([, s]) => s.length > 0)
}

const OPENING = '([{<⟨«“‘'
const CLOSING = ')]}>⟩»”’'

function balanced(chars: string[]): boolean {
  let depth = 0
  for (const c of chars) {
    if (OPENING.includes(c)) depth++
    else if (CLOSING.includes(c) && --depth < 0) return false
  }
  return depth === 0
}

/** How natural a boundary between two characters is (diff-match-patch's scale). */
function edgeScore(before: string | undefined, after: string | undefined): number {
  if (before === undefined || after === undefined) return 6
  const space1 = /\s/.test(before)
  const space2 = /\s/.test(after)
  if (before === '\n' || after === '\n') return 4
  if (space1 || space2) return space2 && !space1 && /[^\p{L}\p{N}\s]/u.test(before) ? 3 : 2
  if (CLOSING.includes(before) || OPENING.includes(after)) return 2
  if (/[^\p{L}\p{N}]/u.test(before) || /[^\p{L}\p{N}]/u.test(after)) return 1
  return 0
}

const countPoints = codePoints

function diffArray(before: unknown[], after: unknown[], path: Path, parent: Out, identity?: Identity, order = { same: true }): void {
  const sequence: Op[] = []
  diffList(before, after, path, sequence, identity, order)
  parent.list(composeAll(sequence))
}

function diffList(before: unknown[], after: unknown[], path: Path, out: Op[], identity: Identity | undefined, order: { same: boolean }): void {
  const known = identity?.get(before)
  // Where each new element came from: its original when immer told us, else itself.
  const origin = known && known.length === after.length ? known : after
  // Common ends by identity first: a push, an edit of one element or an insert in a long list
  // costs no more than the elements it touches.
  let start = 0
  while (start < before.length && start < after.length && before[start] === origin[start]) start++
  let endB = before.length
  let endA = after.length
  while (endB > start && endA > start && before[endB - 1] === origin[endA - 1]) {
    endB--
    endA--
  }
  // Identity matches in the middle: each new element takes the first unused old one.
  const byValue = new Map<unknown, number[]>()
  for (let i = endB - 1; i >= start; i--) {
    const list = byValue.get(before[i])
    if (list) list.push(i)
    else byValue.set(before[i], [i])
  }
  const oldOf = new Array<number>(endA - start).fill(-1)
  const newOf = new Array<number>(endB - start).fill(-1)
  for (let j = start; j < endA; j++) {
    const list = byValue.get(origin[j])
    const i = list?.pop()
    if (i !== undefined) {
      oldOf[j - start] = i
      newOf[i - start] = j
    }
  }
  // Matched elements that kept their relative order stay; the others move.
  const matched: number[] = []
  for (let j = start; j < endA; j++) if (oldOf[j - start]! >= 0) matched.push(j)
  const stable = new Set(longestIncreasing(matched.map((j) => oldOf[j - start]!)).map((m) => matched[m]!))
  // Between two stable neighbours, unmatched old and new elements of one kind pair up in order:
  // an element the recipe edited where it stood.
  const paired = new Map<number, number>() // new index -> old index
  let prevB = start - 1
  let prevA = start - 1
  // With immer's identities the unmatched are true insertions and removals: no guessing.
  const anchors = origin === after ? [...[...stable].sort((x, y) => x - y), endA] : []
  for (const anchor of anchors) {
    const nextB = anchor === endA ? endB : oldOf[anchor - start]!
    const olds: number[] = []
    for (let i = prevB + 1; i < nextB; i++) if (newOf[i - start]! < 0) olds.push(i)
    let o = 0
    for (let j = prevA + 1; j < anchor && o < olds.length; j++) {
      if (oldOf[j - start]! >= 0) continue
      const i = olds[o]!
      if (kind(before[i]) === kind(after[j]) && kind(after[j]) !== 'other') {
        paired.set(j, i)
        newOf[i - start] = j
        o++
      }
    }
    prevB = nextB
    prevA = anchor
  }
  // 1. Removals, highest index first so the others keep their place.
  const work: number[] = [] // old indexes still present, in current order
  for (let i = start; i < endB; i++) work.push(i)
  for (let i = endB - 1; i >= start; i--) {
    if (newOf[i - start]! < 0) {
      out.push(removeOp([...path, i]))
      work.splice(i - start, 1)
    }
  }
  // 2. Moves: every matched element outside the stable run goes right after the element that
  // precedes it in the new order (in new order, so that neighbour is already in place).
  const oldAt = (j: number): number => (oldOf[j - start]! >= 0 ? oldOf[j - start]! : (paired.get(j) ?? -1))
  let prevKept = -1
  for (let j = start; j < endA; j++) {
    const i = oldAt(j)
    if (i < 0) continue
    if (oldOf[j - start]! >= 0 && !stable.has(j)) {
      const from = work.indexOf(i)
      work.splice(from, 1)
      const to = prevKept < 0 ? 0 : work.indexOf(prevKept) + 1
      work.splice(to, 0, i)
      if (from !== to) out.push(moveOp([...path, start + from], [...path, start + to]))
    }
    prevKept = i
  }
  // 3. Insertions in new order, at their final index.
  for (let j = start; j < endA; j++) if (oldAt(j) < 0) out.push(insertOp([...path, j], after[j] as never))
  // 4. Elements edited (where they stand, or moved too), at their final index.
  for (let j = 0; j < after.length; j++) {
    const i = j < start ? j : j >= endA ? endB + (j - endA) : oldAt(j)
    if (i >= 0 && before[i] !== after[j]) diff(before[i], after[j], [...path, j], new Out(out), identity, order)
  }
}

/** Indexes (into `xs`) of one longest strictly increasing subsequence, O(n log n). */
function longestIncreasing(xs: number[]): number[] {
  const tails: number[] = []
  const prev = new Array<number>(xs.length)
  for (let i = 0; i < xs.length; i++) {
    let lo = 0
    let hi = tails.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (xs[tails[mid]!]! < xs[i]!) lo = mid + 1
      else hi = mid
    }
    prev[i] = lo > 0 ? tails[lo - 1]! : -1
    tails[lo] = i
  }
  const out: number[] = []
  for (let i = tails.length > 0 ? tails[tails.length - 1]! : -1; i >= 0; i = prev[i]!) out.push(i)
  return out.reverse()
}
