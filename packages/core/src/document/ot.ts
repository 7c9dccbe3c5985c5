import * as json1 from 'ot-json1'
import * as textUnicode from 'ot-text-unicode'
import { applyOpsDraft } from './draft-apply.js'
import type { Copies } from './record-copy.js'
import { unionOps } from './compose-fast.js'
import { invertFast } from './invert-fast.js'
import { hasPickOrDrop, transformMoveFree } from './transform-fast.js'

/**
 * Zinc's operations are ot-json1 operations (ShareDB's JSON OT type: list insert/remove/move,
 * object keys, and embedded text through ot-text-unicode). A well-kept library rather than
 * hand-written transforms: json1 is fuzzed for convergence by its authors, and its semantics
 * (below) are the ones ShareDB users already know.
 *
 * This file is the only place that talks to json1: the op type, apply (checked and frozen),
 * transform with Zinc's tie-break, compose and invert.
 */
export type Op = json1.JSONOp

/**
 * ot-text-unicode clamps a delete that runs past the end of the string instead of failing;
 * a change that does not fit its text must be refused, so the embedded text type checks the
 * length first. Positions count Unicode code points, not UTF-16 units.
 */
const checkedText = {
  ...textUnicode.type,
  apply(doc: string, op: textUnicode.TextOp): string {
    if (typeof doc !== 'string') throw new Error(`a text edit addresses a ${doc === undefined ? 'missing value' : typeof doc}, not a string`)
    let used = 0
    for (const c of op) {
      if (typeof c === 'number') used += c
      else if (typeof c === 'object') used += typeof c.d === 'number' ? c.d : codePoints(c.d)
    }
    const length = codePoints(doc)
    if (used > length) throw new Error(`a text edit reaches offset ${used}, past the end of a ${length}-character string`)
    if (length !== doc.length) return textUnicode.type.apply(doc, op)
    // No surrogate pairs: code points are UTF-16 offsets, so the edit is a few slices (the
    // library converts every offset by scanning the string from its start).
    textUnicode.type.checkOp(op)
    let out = ''
    let at = 0
    for (const c of op) {
      if (typeof c === 'number') {
        out += doc.slice(at, at + c)
        at += c
      } else if (typeof c === 'string') out += c
      else at += typeof c.d === 'number' ? c.d : codePoints(c.d)
    }
    return out + doc.slice(at)
  },
}
json1.type.registerSubtype(checkedText)

const HIGH_SURROGATES = /[\ud800-\udbff]/g

/** Length in Unicode code points; a native scan, so a 100 KB text costs microseconds. */
export function codePoints(s: string): number {
  HIGH_SURROGATES.lastIndex = 0
  if (!HIGH_SURROGATES.test(s)) return s.length
  return s.length - (s.match(HIGH_SURROGATES)?.length ?? 0)
}

/**
 * Applies an op to a frozen state and returns the new, frozen state (untouched subtrees are
 * shared, as with immer). Throws an Error saying why when the op does not fit the state: a
 * missing path, an index out of range, a key that exists already, a text range past the end.
 */
export function applyOp<S>(state: S, op: Op): S {
  return applyOpAs(state, op, 'shape')
}

/** applyOp, wide records copied as `copies` says: `table` for a confirmed state (see record-copy.ts). */
export function applyOpAs<S>(state: S, op: Op, copies: Copies): S {
  if (op === null) return state
  return applyOpsDraft(state, [op], copies)
}

/**
 * Applies ops in order in one pass (each container copied once). Returns the state and the
 * indexes of the ops that did not apply; then the others are applied one by one.
 */
export function applyOps<S>(state: S, ops: readonly Op[], copies: Copies = 'shape'): { state: S; failed: number[] } {
  if (ops.length === 0) return { state, failed: [] }
  try {
    return { state: applyOpsDraft(state, ops, copies), failed: [] }
  } catch {
    const failed: number[] = []
    let current = state
    ops.forEach((op, i) => {
      try {
        current = applyOpAs(current, op, copies)
      } catch {
        failed.push(i)
      }
    })
    return { state: current, failed }
  }
}

/**
 * `op` (sequenced later) rewritten to apply after `over` (sequenced earlier, or already
 * applied). The later op takes json1's `left` side: where both insert at one place the later
 * one lands first, and where both write one key the later one wins (last writer wins by seq,
 * as before operations). Conflicts resolve as json1's transformNoConflict does: a removal wins
 * over edits inside what it removed (they vanish), a move of a removed element vanishes.
 */
export function transformOp(op: Op, over: Op, opIsLater: boolean): Op {
  if (op === null || over === null) return op
  const side = opIsLater ? 'left' : 'right'
  // With a move, json1's transform, unless the two touch unrelated places (two shapes, two
  // keys): those commute, and json1 costs tens of microseconds even for one component.
  if (hasPickOrDrop(op) || hasPickOrDrop(over)) return interacts(op, over) ? json1.type.transformNoConflict(op, over, side) : op
  // Without: json1's result, by hand for the common pairs (transform-fast.ts); an op on
  // unrelated places comes back as `op` itself.
  return transformMoveFree(op, over, side)
}

/**
 * Carries two concurrent ops past each other: `op` (the later one) rewritten to follow `over`,
 * and `over` rewritten to follow `op`. The step of every rebase loop (pending changes, undo
 * stacks, a snapshot jump).
 */
export function transformPast(op: Op, over: Op): { op: Op; over: Op } {
  return { op: transformOp(op, over, true), over: transformOp(over, op, false) }
}

/** Separates the keys of a place (see `places`): every place starts with it, '' is the root. */
export const SEP = '\u0000'
const footprints = new WeakMap<object, string[]>()
/** Ops with a move (pick/drop): transforming over them can take another op elsewhere. */
const moving = new WeakSet<object>()

/** True if the op moves something (so ops carried past it may change places). */
export function hasMove(op: Op): boolean {
  if (op === null) return false
  footprint(op)
  return moving.has(op)
}

/**
 * The places an op touches: each component's path, cut before its first list index (any two
 * changes in one list interact: indexes shift). Two ops interact when a place of one lies at
 * or below a place of the other; ops that do not interact commute (a transform leaves each as
 * it is). Cached per op: callers must not change the array.
 */
export function places(op: Exclude<Op, null>): readonly string[] {
  return footprint(op)
}

function footprint(op: Exclude<Op, null>): string[] {
  let paths = footprints.get(op)
  if (paths) return paths
  const set = new Set<string>()
  const walk = (list: readonly unknown[], path: string, cutAbove: boolean): void => {
    let here = path
    let cut = cutAbove
    for (const item of list) {
      if (Array.isArray(item)) walk(item, here, cut)
      else if (typeof item === 'object' && item !== null) {
        set.add(here)
        const c = item as { p?: unknown; d?: unknown }
        if (c.p !== undefined || c.d !== undefined) moving.add(op)
      } else if (typeof item === 'number') cut = true
      else if (!cut) here = here === '' ? SEP + String(item) : here + SEP + String(item)
    }
    // a list index ends the path here, whatever follows
    if (cut) set.add(here)
  }
  walk(op, '', false)
  paths = [...set]
  footprints.set(op, paths)
  return paths
}

/**
 * The places a set of ops touches, to tell in O(path depth) whether another op may interact
 * with any of them (a superset test: true may still mean no interaction).
 *
 * A trie of path segments (the keys of each place, see `footprint`): an op touches the set when
 * a place of its own runs into the end of one of ours (ours lies at or above it) or runs out
 * inside the trie (ours lies below it). The commonest op, object keys down to one component
 * (`['shapes', id, {…}]`), is walked in place, with no string built and no cache looked up: a
 * writer asks for every change it receives, twice (its pending changes, its undo stack).
 */
export class PlaceIndex {
  readonly #root: PlaceNode = { end: false, kids: undefined }

  add(op: Op): void {
    if (op === null) return
    const list = op as readonly unknown[]
    const n = keyedLength(list)
    if (n >= 0) {
      const node = this.#insert(this.#root, list, n)
      if (n === list.length - 1) node.end = true
      // one place per child: its keys below the record's
      else for (let j = n; j < list.length; j++) this.#insert(node, list[j] as readonly unknown[], (list[j] as readonly unknown[]).length - 1).end = true
      return
    }
    for (const path of segmentsOf(op)) this.#insert(this.#root, path, path.length).end = true
  }

  touches(op: Op): boolean {
    if (op === null) return false
    // nothing added: nothing to touch (below, a node reached always has a place of ours below it)
    if (this.#root.end || this.#root.kids === undefined) return this.#root.end
    const list = op as readonly unknown[]
    const n = keyedLength(list)
    if (n >= 0) {
      const node = this.#reach(this.#root, list, n)
      if (typeof node === 'boolean') return node
      if (n === list.length - 1) return true
      for (let j = n; j < list.length; j++) if (this.#reach(node, list[j] as readonly unknown[], (list[j] as readonly unknown[]).length - 1) !== false) return true
      return false
    }
    for (const path of segmentsOf(op)) if (this.#reach(this.#root, path, path.length) !== false) return true
    return false
  }

  /** The node of the first `n` segments of `path` (strings) below `from`, made where missing. */
  #insert(from: PlaceNode, path: readonly unknown[], n: number): PlaceNode {
    let node = from
    for (let i = 0; i < n; i++) {
      const key = path[i] as string
      const kids = (node.kids ??= new Map())
      let next = kids.get(key)
      if (next === undefined) kids.set(key, (next = { end: false, kids: undefined }))
      node = next
    }
    return node
  }

  /**
   * Walks the first `n` segments of `path` down from `from`: true as soon as a place of ours
   * ends on the way (ours lies at or above), false when the walk leaves the trie (nothing of
   * ours at, above or below), else the node reached (places of ours lie below it).
   */
  #reach(from: PlaceNode, path: readonly unknown[], n: number): PlaceNode | boolean {
    let node = from
    for (let i = 0; i < n; i++) {
      const next = node.kids?.get(path[i] as string)
      if (next === undefined) return false
      if (next.end) return true
      node = next
    }
    return node
  }
}

interface PlaceNode {
  /** A place of one of the ops ends here. */
  end: boolean
  kids: Map<string, PlaceNode> | undefined
}

/**
 * For an op of object keys down to one component (`['shapes', id, {…}]`), or down to a record
 * with below it one such op per key (`['shapes', id, ['x', {…}], ['y', {…}]]`): the number of
 * leading keys. Its places are those keys (plus each child's keys), as `footprint` finds them.
 * -1 for any other op.
 */
function keyedLength(list: readonly unknown[]): number {
  let n = 0
  while (n < list.length && typeof list[n] === 'string') n++
  if (n === list.length - 1) return isComponent(list[n]) ? n : -1
  if (list.length - n < 2) return -1
  for (let j = n; j < list.length; j++) {
    const child = list[j]
    if (!Array.isArray(child) || child.length < 2) return -1
    for (let i = 0; i < child.length - 1; i++) if (typeof child[i] !== 'string') return -1
    if (!isComponent(child[child.length - 1])) return -1
  }
  return n
}

const isComponent = (c: unknown): boolean => typeof c === 'object' && c !== null && !Array.isArray(c)

const segmentCache = new WeakMap<object, string[][]>()
/**
 * The places of any op as lists of keys: `footprint`'s walk, keeping the keys apart (a key may
 * hold the separator footprint joins them with). Cached per op, as footprint is.
 */
function segmentsOf(op: Exclude<Op, null>): string[][] {
  let out = segmentCache.get(op)
  if (out) return out
  const found = new Map<string, string[]>()
  const walk = (list: readonly unknown[], path: string[], cutAbove: boolean): void => {
    let here = path
    let cut = cutAbove
    for (const item of list) {
      if (Array.isArray(item)) walk(item, here, cut)
      else if (typeof item === 'object' && item !== null) found.set(JSON.stringify(here), here)
      else if (typeof item === 'number') cut = true
      else if (!cut) here = [...here, String(item)]
    }
    // a list index ends the path here, whatever follows
    if (cut) found.set(JSON.stringify(here), here)
  }
  walk(op, [], false)
  out = [...found.values()]
  segmentCache.set(op, out)
  return out
}

/** True unless the two ops touch unrelated places (no path of one lies on a path of the other). */
export function interacts(a: Exclude<Op, null>, b: Exclude<Op, null>): boolean {
  const pa = footprint(a)
  const pb = footprint(b)
  // Called for every entry a fragment is checked against (hundreds per fragment with deep
  // windows): no allocation, and the separator after the shorter path is checked first.
  for (let i = 0; i < pa.length; i++) {
    const x = pa[i]!
    if (x === '') return true
    for (let j = 0; j < pb.length; j++) {
      const y = pb[j]!
      if (y === '' || x === y) return true
      if (x.length < y.length ? y.charCodeAt(x.length) === 0 && y.startsWith(x) : x.length > y.length && x.charCodeAt(y.length) === 0 && x.startsWith(y)) return true
    }
  }
  return false
}

/** One op with the effect of `a` then `b`. */
export function composeOps(a: Op, b: Op): Op {
  if (a === null) return b
  if (b === null) return a
  return unionOps(a, b) ?? json1.type.compose(a, b)
}

/** The op that undoes `op`, given the state it was applied to. */
export function invertOp(op: Op, before: unknown): Op {
  if (op === null) return null
  return invertFast(op, before) ?? json1.type.invertWithDoc(op, before as json1.Doc)
}

export function isNoop(op: Op): boolean {
  return op === null || json1.type.isNoop(op)
}

/** Throws unless `op` is a well-formed json1 operation. */
export function checkOp(op: Op): void {
  json1.type.checkValidOp(op)
}

export const { insertOp, removeOp, moveOp, replaceOp, editOp } = json1

/** Freezes every object json1 created (its copies along changed paths and inserted values). */
export function freezeDeep<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value
  Object.freeze(value)
  if (Array.isArray(value)) for (const v of value) freezeDeep(v)
  else for (const k in value) freezeDeep((value as Record<string, unknown>)[k])
  return value
}

/** One component of an op, with its full path: what it removes, inserts, moves or edits there. */
export interface OpComponent {
  path: Array<string | number>
  /** Removed here (true, or the removed value when known). */
  remove?: unknown
  /** Inserted here. */
  insert?: unknown
  /** Picked up here / dropped here by a move, with the move's slot. */
  pick?: number
  drop?: number
  /** A text edit (ot-text-unicode op) of the string here. */
  text?: unknown
}

/**
 * The components of an op in order, each with its full path: for logs, tools and tests.
 * Note that json1 reads pick paths (remove, pick) in the old document and drop paths
 * (insert, drop, text) in the new one.
 */
export function opComponents(op: Op): OpComponent[] {
  const out: OpComponent[] = []
  const walk = (list: readonly unknown[], path: Array<string | number>): void => {
    let here = path
    for (const item of list) {
      if (Array.isArray(item)) walk(item, here)
      else if (typeof item === 'object' && item !== null) {
        const c = item as Record<string, unknown>
        const component: OpComponent = { path: here }
        if (c.r !== undefined) component.remove = c.r
        if (c.i !== undefined) component.insert = c.i
        if (c.p !== undefined) component.pick = c.p as number
        if (c.d !== undefined) component.drop = c.d as number
        if (c.es !== undefined) component.text = c.es
        else if (c.e !== undefined) component.text = c.e
        out.push(component)
      } else here = [...here, item as string | number]
    }
  }
  if (op !== null) walk(op, [])
  return out
}
