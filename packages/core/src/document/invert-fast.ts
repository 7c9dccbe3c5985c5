import type * as json1 from 'ot-json1'

/**
 * json1's invertWithDoc for the common local change, by hand: every component sits at the end
 * of a path of object keys or of one index per list (no move, no text edit, no two changes in
 * one list) and writes, removes or replaces a value there. Its inverse has the same paths, each component swapped: an insert of
 * v becomes a removal of v, a removal becomes an insert of the value the state held there, a
 * replace both. json1 makes the same op, but by applying the op to copies of every container
 * on its paths (30 µs for one field of a keyed 10,000-shape canvas; this is a walk down those
 * paths). Undefined: not such an op (the caller asks json1).
 * packages/core/test/transform-fast.test.ts checks it against json1 on random changes.
 */
type OpList = json1.JSONOpList
type Comp = Record<string, unknown>

export function invertFast(op: OpList, before: unknown): OpList | undefined {
  return node(op, 0, before)
}

function node(a: OpList, at: number, doc: unknown): OpList | undefined {
  const first = a[at]
  if (typeof first === 'object' && first !== null && !Array.isArray(first)) {
    // A component ends its path here: a leaf (a component with children below it is json1's).
    if (at !== a.length - 1) return undefined
    const inverse = component(first as Comp, doc)
    return inverse === undefined ? undefined : [inverse as never]
  }
  // One child, written inline: a key, or the index of the only element of a list the op
  // touches (with one change in a list, its index reads the same before and after).
  if (typeof first === 'string' || typeof first === 'number') {
    const sub = node(a, at + 1, child(doc, first))
    return sub === undefined ? undefined : ([first, ...sub] as OpList)
  }
  if (!Array.isArray(first)) return undefined
  const out: unknown[] = []
  for (let i = at; i < a.length; i++) {
    const kid = a[i] as OpList
    const key = kid[0]
    if (typeof key !== 'string') return undefined // several changes in one list
    const sub = node(kid, 1, child(doc, key))
    if (sub === undefined) return undefined
    out.push([key, ...sub])
  }
  return out as OpList
}

function child(doc: unknown, key: string | number): unknown {
  if (typeof key === 'number') return Array.isArray(doc) ? doc[key] : undefined
  return typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? (doc as Record<string, unknown>)[key] : undefined
}

function component(c: Comp, old: unknown): Comp | undefined {
  let n = 0
  for (const k in c) {
    if (k !== 'r' && k !== 'i') return undefined
    n++
  }
  const inserts = c.i !== undefined
  const removes = c.r !== undefined
  if (inserts && removes && n === 2) return old === undefined ? undefined : { i: old, r: c.i }
  if (inserts && n === 1) return { r: c.i }
  if (removes && n === 1) return old === undefined ? undefined : { i: old }
  return undefined
}
