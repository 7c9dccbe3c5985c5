import * as json1 from 'ot-json1'
import * as textUnicode from 'ot-text-unicode'

/**
 * ot-json1's transformNoConflict, with the common cases done by hand and everything else
 * handed to json1 on the smallest subtree that needs it.
 *
 * Why: a burst of writers on one list transforms every pending change over every concurrent
 * one (pending × foreign pairs, at the root and at each replica), and json1 spends 10–40 µs on
 * even a one-component pair (it walks both ops with read and write cursors). Most pairs are a
 * list insert or removal against another, keys beside keys, or text beside text: index
 * arithmetic, a key comparison, ot-text-unicode's own transform.
 *
 * Only ops without moves take this path (a move can carry a change from one subtree to
 * another); with them, both ops go to json1 whole. Without moves, a change under one key never
 * affects a change under another, so the two ops are walked together by key and only the
 * places both touch are transformed. The result is json1's, in json1's normalized form
 * (test/ot-fast.test.ts checks that on random pairs), and it is `op` itself when nothing
 * changed, so callers can tell a rewritten change from an untouched one by reference.
 */
type OpList = json1.JSONOpList
type Key = string | number
type Side = 'left' | 'right'
type Comp = Record<string, unknown>

/** Ops known to hold no pick or drop anywhere, so the fast path applies (true) or not (false). */
const moveFree = new WeakMap<object, boolean>()

export function transformFast(op: OpList, over: OpList, side: Side): json1.JSONOp {
  if (!isMoveFree(op) || !isMoveFree(over)) return json1.type.transformNoConflict(op, over, side)
  const out = node(op, over, side)
  if (out !== null && out !== op) moveFree.set(out, true)
  return out
}

function isMoveFree(op: OpList): boolean {
  let known = moveFree.get(op)
  if (known === undefined) {
    known = !hasPickOrDrop(op)
    moveFree.set(op, known)
  }
  return known
}

function hasPickOrDrop(list: readonly unknown[]): boolean {
  for (const item of list) {
    if (Array.isArray(item)) {
      if (hasPickOrDrop(item)) return true
    } else if (typeof item === 'object' && item !== null) {
      const c = item as Comp
      if (c.p !== undefined || c.d !== undefined) return true
    }
  }
  return false
}

/** One node of an op: the component here, and the children (each the op relative to it). */
interface View {
  comp: Comp | undefined
  kids: Array<[Key, OpList]>
}

function view(op: OpList): View {
  let i = 0
  let comp: Comp | undefined
  const first = op[0]
  if (typeof first === 'object' && first !== null && !Array.isArray(first)) {
    comp = first as Comp
    i = 1
  }
  const next = op[i]
  // One child is written inline ([key, ...rest]); several as arrays, sorted by key.
  if (typeof next === 'string' || typeof next === 'number') return { comp, kids: [[next, op.slice(i + 1) as OpList]] }
  const kids: Array<[Key, OpList]> = []
  for (; i < op.length; i++) {
    const c = op[i] as OpList
    kids.push([c[0] as Key, c.slice(1) as OpList])
  }
  return { comp, kids }
}

/** json1's normalized op for a node (null when it does nothing). */
function build(comp: Comp | undefined, kids: Array<[Key, OpList]>): OpList | null {
  if (kids.length === 0) return comp ? [comp as never] : null
  const out: unknown[] = comp ? [comp] : []
  if (kids.length === 1) out.push(kids[0]![0], ...kids[0]![1])
  else for (const [k, sub] of kids) out.push([k, ...sub])
  return out as OpList
}

/** `a` transformed over `b`, both relative to the same node. */
function node(a: OpList, b: OpList, side: Side): OpList | null {
  const va = view(a)
  const vb = view(b)
  if (va.comp === undefined && vb.comp === undefined) {
    const aList = va.kids.some(([k]) => typeof k === 'number')
    const bList = vb.kids.some(([k]) => typeof k === 'number')
    if (!aList && !bList) return keys(a, va.kids, vb.kids, side)
    if (aList && bList && va.kids.length === 1 && vb.kids.length === 1) {
      const done = listPair(a, va.kids[0] as [number, OpList], vb.kids[0] as [number, OpList], side)
      if (done !== undefined) return done
    }
  } else if (va.kids.length === 0 && vb.kids.length === 0 && onlyKey(va.comp, 'es') && onlyKey(vb.comp, 'es')) {
    return text(a, va.comp!.es as textUnicode.TextOp, vb.comp!.es as textUnicode.TextOp, side)
  }
  return json1.type.transformNoConflict(a, b, side)
}

/** An object node: children under keys only one op touches stay as they are. */
function keys(a: OpList, ka: Array<[Key, OpList]>, kb: Array<[Key, OpList]>, side: Side): OpList | null {
  let out: Array<[Key, OpList]> | undefined
  for (let i = 0; i < ka.length; i++) {
    const [k, sub] = ka[i]!
    let t: OpList | null = sub
    for (const [kk, other] of kb) {
      if (kk === k) {
        t = node(sub, other, side)
        break
      }
    }
    if (t === sub && out === undefined) continue
    out ??= ka.slice(0, i)
    if (t !== null) out.push([k, t])
  }
  return out === undefined ? a : build(undefined, out)
}

type Act = 'ins' | 'rem' | 'edit'

/** What a change does to list element `index`: a plain insert, a plain removal, or edits inside it. */
function act(rest: OpList): Act | undefined {
  const first = rest[0]
  if (typeof first !== 'object' || first === null || Array.isArray(first)) return 'edit'
  if (rest.length !== 1) return undefined
  if (onlyKey(first as Comp, 'i')) return 'ins'
  if (onlyKey(first as Comp, 'r')) return 'rem'
  return undefined
}

/**
 * A list node where each op touches one element: the index shifts by the other's insert or
 * removal; an edit inside an element the other removed vanishes; edits inside one element are
 * transformed below it. Undefined: not a case handled here (json1 decides).
 */
function listPair(a: OpList, [n, ra]: [number, OpList], [m, rb]: [number, OpList], side: Side): OpList | null | undefined {
  const x = act(ra)
  const y = act(rb)
  if (x === undefined || y === undefined) return undefined
  let to = n
  if (y === 'ins') {
    if (m < n || (m === n && (x !== 'ins' || side === 'right'))) to = n + 1
  } else if (y === 'rem') {
    if (m === n && x !== 'ins') return null
    if (m < n) to = n - 1
  } else if (m === n) {
    if (x !== 'edit') return x === 'ins' ? a : undefined
    const sub = node(ra, rb, side)
    if (sub === ra) return a
    return sub === null ? null : [n, ...sub]
  }
  return to === n ? a : [to, ...ra]
}

/** Two text edits of one string: ot-text-unicode's transform, as json1 calls it. */
function text(a: OpList, x: textUnicode.TextOp, y: textUnicode.TextOp, side: Side): OpList | null {
  const t = textUnicode.type.transform(x, y, side)
  if (t.length === 0) return null
  if (t.length === x.length && t.every((c, i) => same(c, x[i]))) return a
  return [{ es: t } as never]
}

function same(c: unknown, d: unknown): boolean {
  if (c === d) return true
  if (typeof c === 'object' && typeof d === 'object' && c !== null && d !== null) return (c as { d?: unknown }).d === (d as { d?: unknown }).d
  return false
}

function onlyKey(c: Comp | undefined, key: string): boolean {
  if (c === undefined || c[key] === undefined) return false
  for (const k in c) if (k !== key) return false
  return true
}
