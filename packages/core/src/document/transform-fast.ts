import * as json1 from 'ot-json1'
import * as textUnicode from 'ot-text-unicode'

/**
 * ot-json1's transformNoConflict, with the common cases done by hand and everything else
 * handed to json1 on the smallest subtree that needs it.
 *
 * Why: a burst of writers on one list transforms every pending change over every concurrent
 * one (pending × foreign pairs, at the root, at each replica and in undo stacks), and json1
 * spends 10–40 µs on even a one-component pair (it walks both ops with read and write
 * cursors). Most pairs are a list insert or removal against another, keys beside keys, text
 * beside text or two writes of one key: index arithmetic, a key comparison, ot-text-unicode's
 * own transform, the later write winning.
 *
 * Only ops without moves take this path (a move can carry a change from one subtree to
 * another); with them, both ops go to json1 whole. Without moves, a change under one key never
 * affects a change under another, so the two ops are walked together by key and only the
 * places both touch are transformed. The result is json1's, in json1's normalized form
 * (packages/core/test/transform-fast.test.ts checks that on random pairs), and it is `op`
 * itself when nothing changed, so callers can tell a rewritten change from an untouched one by
 * reference. The walk reads sub-ops in place (an array and a start index) and allocates only
 * for what it rewrites.
 */
type OpList = json1.JSONOpList
type Key = string | number
type Side = 'left' | 'right'
type Comp = Record<string, unknown>
type Result = OpList | null

/** Returned by the walk where nothing changed (the caller keeps its own sub-op). */
const SAME = Symbol('same')

export function transformFast(op: OpList, over: OpList, side: Side): json1.JSONOp {
  // A scan of the op's structure (not of the values it inserts): cheaper than remembering the
  // answer per op in a WeakMap, which cost more in lookups and GC than it saved.
  if (hasPickOrDrop(op) || hasPickOrDrop(over)) return json1.type.transformNoConflict(op, over, side)
  return transformMoveFree(op, over, side)
}

/** transformFast for two ops known to hold no move (see hasPickOrDrop). */
export function transformMoveFree(op: OpList, over: OpList, side: Side): json1.JSONOp {
  const out = node(op, 0, over, 0, side)
  return out === SAME ? op : out
}

/** True if the op picks up or drops anything (a move) anywhere. */
export function hasPickOrDrop(list: readonly unknown[]): boolean {
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

const isComp = (v: unknown): v is Comp => typeof v === 'object' && v !== null && !Array.isArray(v)
const isKey = (v: unknown): v is Key => typeof v === 'string' || typeof v === 'number'

/**
 * A sub-op is `a` from index `at`: [component?, key, ...rest] (one child, written inline) or
 * [component?, [key, ...], [key, ...]] (several, sorted by key). Where its children start.
 */
const kidsAt = (a: OpList, at: number): number => (isComp(a[at]) ? at + 1 : at)

/** The sub-op from `at` as its own op (for json1, or to keep in a rebuilt op). */
const own = (a: OpList, at: number): OpList => (at === 0 ? a : (a.slice(at) as OpList))

/** `a` (from `at`) transformed over `b` (from `bt`), both relative to the same node. */
function node(a: OpList, at: number, b: OpList, bt: number, side: Side): Result | typeof SAME {
  const ca = isComp(a[at]) ? a[at] : undefined
  const cb = isComp(b[bt]) ? b[bt] : undefined
  const ka = kidsAt(a, at)
  const kb = kidsAt(b, bt)
  if (ca === undefined && cb === undefined) {
    const inlineA = isKey(a[ka])
    const inlineB = isKey(b[kb])
    const firstA = inlineA ? a[ka] : (a[ka] as OpList)[0]
    const firstB = inlineB ? b[kb] : (b[kb] as OpList)[0]
    // Children sorted with list indexes first: the first key says whether this is a list.
    if (typeof firstA === 'string' && typeof firstB === 'string') return keys(a, at, ka, inlineA, b, kb, inlineB, side)
    if (typeof firstA === 'number' && typeof firstB === 'number' && inlineA && inlineB) {
      const done = listPair(a, at, firstA, ka + 1, b, firstB, kb + 1, side)
      if (done !== undefined) return done
    }
  } else if (ka === a.length && kb === b.length && ca !== undefined && cb !== undefined) {
    if (onlyKey(ca, 'es') && onlyKey(cb, 'es')) return text(ca.es as textUnicode.TextOp, cb.es as textUnicode.TextOp, side)
    // Two writes of one object key (reached by a key: a list element's write is listPair's),
    // of two different plain values.
    const x = at > 0 ? write(ca) : undefined
    const y = bt > 0 ? write(cb) : undefined
    // Equal values cancel out in json1 (objects compared deeply): left to it.
    if (x && y && ca.i !== cb.i && (typeof ca.i !== 'object' || ca.i === null) && (typeof cb.i !== 'object' || cb.i === null)) {
      if (side === 'left') return x === 'replace' ? SAME : [{ r: true, i: ca.i } as never]
      return x === 'replace' && y === 'insert' ? [{ r: true } as never] : null
    }
  }
  return json1.type.transformNoConflict(own(a, at), own(b, bt), side)
}

/** An object node: children under keys only one op touches stay as they are. */
function keys(a: OpList, at: number, ka: number, inlineA: boolean, b: OpList, kb: number, inlineB: boolean, side: Side): Result | typeof SAME {
  if (inlineA) {
    const t = kidOver(a, ka + 1, a[ka] as Key, b, kb, inlineB, side)
    if (t === SAME) return SAME
    return t === null ? null : ([a[ka], ...t] as OpList)
  }
  let out: Array<[Key, OpList]> | undefined
  for (let i = ka; i < a.length; i++) {
    const kid = a[i] as OpList
    const t = kidOver(kid, 1, kid[0] as Key, b, kb, inlineB, side)
    if (t === SAME && out === undefined) continue
    if (out === undefined) {
      out = []
      for (let j = ka; j < i; j++) out.push([(a[j] as OpList)[0] as Key, (a[j] as OpList).slice(1) as OpList])
    }
    if (t === SAME) out.push([kid[0] as Key, kid.slice(1) as OpList])
    else if (t !== null) out.push([kid[0] as Key, t])
  }
  if (out === undefined) return SAME
  // this node had no component (see node): only children
  if (out.length === 0) return null
  if (out.length === 1) return [out[0]![0], ...out[0]![1]] as OpList
  return out.map(([k, sub]) => [k, ...sub]) as unknown as OpList
}

/** A's child `key` (sub-op `a` from `at`) over b's child of the same key, if b has one. */
function kidOver(a: OpList, at: number, key: Key, b: OpList, kb: number, inlineB: boolean, side: Side): Result | typeof SAME {
  if (inlineB) return b[kb] === key ? node(a, at, b, kb + 1, side) : SAME
  for (let j = kb; j < b.length; j++) {
    const kid = b[j] as OpList
    if (kid[0] === key) return node(a, at, kid, 1, side)
  }
  return SAME
}

type Act = 'ins' | 'rem' | 'edit'

/** What a change does to one list element (its sub-op from `at`): plain insert, plain removal, edits inside. */
function act(rest: OpList, at: number): Act | undefined {
  const first = rest[at]
  if (!isComp(first)) return 'edit'
  if (rest.length !== at + 1) return undefined
  if (onlyKey(first, 'i')) return 'ins'
  if (onlyKey(first, 'r')) return 'rem'
  return undefined
}

/**
 * A list node where each op touches one element (a's element n, its sub-op from `ra`; b's m
 * from `rb`): the index shifts by the other's insert or removal; an edit inside an element the
 * other removed vanishes; edits inside one element are transformed below it. Undefined: not a
 * case handled here (json1 decides).
 */
function listPair(a: OpList, at: number, n: number, ra: number, b: OpList, m: number, rb: number, side: Side): Result | typeof SAME | undefined {
  const x = act(a, ra)
  const y = act(b, rb)
  if (x === undefined || y === undefined) return undefined
  let to = n
  if (y === 'ins') {
    if (m < n || (m === n && (x !== 'ins' || side === 'right'))) to = n + 1
  } else if (y === 'rem') {
    if (m === n && x !== 'ins') return null
    if (m < n) to = n - 1
  } else if (m === n) {
    if (x !== 'edit') return x === 'ins' ? SAME : undefined
    const sub = node(a, ra, b, rb, side)
    if (sub === SAME || sub === null) return sub
    return [n, ...sub] as OpList
  }
  if (to === n) return SAME
  const out = a.slice(ra - 1) as unknown[] // [n, ...rest]
  out[0] = to
  return out as OpList
}

/** Two text edits of one string: ot-text-unicode's transform, as json1 calls it. */
function text(x: textUnicode.TextOp, y: textUnicode.TextOp, side: Side): Result | typeof SAME {
  const t = textUnicode.type.transform(x, y, side)
  if (t.length === 0) return null
  if (t.length === x.length && t.every((c, i) => same(c, x[i]))) return SAME
  return [{ es: t } as never]
}

/** A component that writes a value: an insert, or a replace (remove then insert). */
function write(c: Comp): 'insert' | 'replace' | undefined {
  if (c.i === undefined) return undefined
  if (onlyKey(c, 'i')) return 'insert'
  return c.r === true && Object.keys(c).length === 2 ? 'replace' : undefined
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
