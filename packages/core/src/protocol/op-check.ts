import { BadFrameError } from '../errors.js'
import { markChecked } from '../document/draft-apply.js'
import type { Op } from '../document/ot.js'
import { MAX_VALUE_DEPTH } from './json.js'

/**
 * One pass over a fragment's parsed op that checks everything a received op is checked for and
 * freezes it on the way back up.
 *
 * A received op used to be walked four times after JSON.parse: the value rules (depth,
 * forbidden keys: `decodeJson`), Zinc's op shape (forbidden path keys, embedded types, and its
 * inserted values walked once more), json1's `checkValidOp`, and `freezeDeep`. The checks are
 * the same here — the union of the four, with json1's structure rules ported from its
 * `checkValidOp` — but each node is visited once. With `freeze`, what passes is deeply frozen and
 * marked checked (`markChecked`), so applying it does not run json1's check again. Without,
 * it stays writable (and is checked again when applied): the root transforms the ops it
 * receives, and json1 and transform-fast slice them, which takes a slow path on frozen arrays
 * (with frozen ops the root spent twice the CPU per fragment in writer-path.mjs).
 *
 * `depth` counts containers from the outermost JSON value (the payload's wrapper is 1), as
 * `decodeJson` does: the limit is {@link MAX_VALUE_DEPTH} for the payload as a whole.
 * Throws BadFrameError saying what is wrong; on a throw the op is garbage (maybe partly frozen).
 */
export function readOp(op: unknown, depth: number, freeze: boolean): Op {
  if (op === null) return null
  const slots: Slots = { picked: undefined, dropped: undefined, freeze }
  descent(op, true, depth, slots)
  const picked = slots.picked?.size ?? 0
  if (picked !== (slots.dropped?.size ?? 0)) throw bad('its picks and drops do not pair up')
  for (let i = 0; i < picked; i++) if (!slots.picked!.has(i) || !slots.dropped!.has(i)) throw bad('its move slots are not numbered from 0')
  if (freeze) {
    markChecked(op as unknown[])
    Object.freeze(op)
  }
  return op as Op
}

/**
 * Checks a JSON value (depth and forbidden keys, as `decodeJson`) and freezes it if asked; `depth`
 * is the value's own depth if it is a container. Recursion is bounded: deeper than the limit throws first.
 */
export function freezeSafe(value: unknown, depth: number, freeze: boolean): void {
  if (typeof value !== 'object' || value === null) return
  if (depth > MAX_VALUE_DEPTH) throw new BadFrameError(`fragment payload nests deeper than ${MAX_VALUE_DEPTH} levels`)
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) freezeSafe(value[i], depth + 1, freeze)
  } else {
    for (const key in value) {
      if (key === '__proto__' || key === 'constructor' || key === 'prototype') throw new BadFrameError(`fragment payload has a forbidden key ${JSON.stringify(key)}`)
      freezeSafe((value as Record<string, unknown>)[key], depth + 1, freeze)
    }
  }
  if (freeze) Object.freeze(value)
}

/** The move slots seen so far (json1: each picked once, each dropped once, 0…n-1). Made on the first move. */
interface Slots {
  picked: Set<number> | undefined
  dropped: Set<number> | undefined
  /** Whether to freeze what passes (see readOp). */
  freeze: boolean
}

const bad = (what: string): BadFrameError => new BadFrameError(`fragment op is not a valid ot-json1 operation (${what})`)

/** json1's non-negative integer: a 32-bit one (`n === (n | 0)`). */
const isIndex = (n: unknown): n is number => typeof n === 'number' && n >= 0 && n === (n | 0)

/**
 * One descent (a list: path keys, then components, then child descents in key order), as
 * json1's `checkDescent`, plus Zinc's rules. Returns its first item (its key, for the order check).
 */
function descent(d: unknown, isRoot: boolean, depth: number, slots: Slots): unknown {
  if (depth > MAX_VALUE_DEPTH) throw new BadFrameError(`fragment payload nests deeper than ${MAX_VALUE_DEPTH} levels`)
  if (!Array.isArray(d)) throw new BadFrameError('fragment op is not a list')
  if (d.length === 0) throw bad('an empty descent')
  // What the previous item was: 1 a path key, 2 a component, 3 a child descent.
  let last = 1
  let descents = 0
  let lastKey: unknown = 0
  for (let i = 0; i < d.length; i++) {
    const item: unknown = d[i]
    if (typeof item === 'string') {
      if (item === '__proto__' || item === 'constructor' || item === 'prototype') throw new BadFrameError(`an op path has a forbidden key ${JSON.stringify(item)}`)
      if (last === 3) throw bad('a path key after a child descent')
      last = 1
    } else if (typeof item === 'number') {
      if (!isIndex(item)) throw new BadFrameError(`an op path has a bad index ${item}`)
      if (last === 3) throw bad('a path key after a child descent')
      last = 1
    } else if (Array.isArray(item)) {
      const key = descent(item, false, depth + 1, slots)
      if (descents > 0) {
        const t1 = typeof lastKey
        const t2 = typeof key
        if (t1 === t2 ? !((lastKey as number) < (key as number)) : !(t1 === 'number' && t2 === 'string')) throw bad('descent keys are not in order')
      }
      lastKey = key
      descents++
      last = 3
    } else if (typeof item === 'object' && item !== null) {
      if (last !== 1) throw bad('a component does not follow a path key')
      component(item as Record<string, unknown>, depth + 1, slots)
      last = 2
    } else {
      throw new BadFrameError(`an op has an element of type ${item === null ? 'null' : typeof item}`)
    }
  }
  if (!isRoot && typeof d[0] !== 'string' && typeof d[0] !== 'number') throw bad('a child descent does not start with a key')
  if (descents === 1) throw bad('it makes a single child descent; remove a level of []')
  if (last === 1) throw bad('a descent ends with a path key')
  // The op itself is frozen by readOp, once it is marked.
  if (!isRoot && slots.freeze) Object.freeze(d)
  return d[0]
}

/** One component (`{r, p, i, d, e, es, ena, et}`), as json1's `checkComponent`, plus Zinc's rules; values checked and frozen. */
function component(c: Record<string, unknown>, depth: number, slots: Slots): void {
  let empty = true
  let edit = false
  for (const k in c) {
    empty = false
    const v = c[k]
    switch (k) {
      case 'p':
        if (!isIndex(v)) throw bad('a pick slot is not a non-negative integer')
        slots.picked ??= new Set()
        if (slots.picked.has(v) || c.r !== undefined) throw bad('a pick slot is used twice, or with a removal')
        slots.picked.add(v)
        break
      case 'd':
        if (!isIndex(v)) throw bad('a drop slot is not a non-negative integer')
        slots.dropped ??= new Set()
        if (slots.dropped.has(v) || c.i !== undefined) throw bad('a drop slot is used twice, or with an insert')
        slots.dropped.add(v)
        break
      case 'et':
        if (v !== 'text-unicode') throw new BadFrameError(`an op uses an unknown embedded type ${JSON.stringify(v)}`)
        break
      case 'e':
      case 'es':
      case 'ena':
        if (edit) throw bad('a component has two edits')
        edit = true
        // json1's getEditType: `et` (text-unicode, checked above), else `es`, else `ena`.
        if (!(c.et !== undefined || c.es || c.ena != null)) throw bad('an edit has no type')
        freezeSafe(v, depth + 1, slots.freeze)
        break
      case 'r':
      case 'i':
        freezeSafe(v, depth + 1, slots.freeze)
        break
      default:
        if (k === '__proto__') throw new BadFrameError('an op component has a forbidden key "__proto__"')
        throw bad(`an unknown component item ${JSON.stringify(k)}`)
    }
  }
  if (empty) throw bad('an empty component')
  if (slots.freeze) Object.freeze(c)
}
