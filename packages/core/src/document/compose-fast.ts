import type * as json1 from 'ot-json1'
import { hasPickOrDrop } from './transform-fast.js'

/**
 * json1's compose for two ops that change different places: their union. A local change that
 * pushes onto a list and sets a key is diffed into one op per list plus one for the keys, then
 * composed; json1's compose walks both with cursors (hundreds of µs for two components), where
 * two ops with no place in common compose to their merged trees. Undefined where they are not
 * that simple (both write one place or one's change lies inside the other's, both touch one
 * list, or one moves): json1 decides. packages/core/test/transform-fast.test.ts checks it
 * against json1.
 */
type OpList = json1.JSONOpList
type Key = string | number

export function unionOps(a: OpList, b: OpList): OpList | undefined {
  if (hasPickOrDrop(a) || hasPickOrDrop(b)) return undefined
  return node(a, 0, b, 0)
}

const isComp = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v)

/** The children of a sub-op that has no component: [key, array, start] each. */
function kids(a: OpList, at: number): Array<[Key, OpList, number]> {
  const first = a[at]
  if (typeof first === 'string' || typeof first === 'number') return [[first, a, at + 1]]
  const out: Array<[Key, OpList, number]> = []
  for (let i = at; i < a.length; i++) {
    const kid = a[i] as OpList
    out.push([kid[0] as Key, kid, 1])
  }
  return out
}

function node(a: OpList, at: number, b: OpList, bt: number): OpList | undefined {
  // A component here in either: both change this place, or one inside the other's change.
  if (isComp(a[at]) || isComp(b[bt])) return undefined
  const ka = kids(a, at)
  const kb = kids(b, bt)
  // One list, two changes: indexes interact.
  if (ka.some(([k]) => typeof k !== 'string') || kb.some(([k]) => typeof k !== 'string')) return undefined
  const merged: Array<[string, unknown[]]> = []
  for (const [k, arr, from] of ka) {
    const other = kb.find(([kk]) => kk === k)
    if (other) {
      const sub = node(arr, from, other[1], other[2])
      if (sub === undefined) return undefined
      merged.push([k as string, sub])
    } else merged.push([k as string, arr.slice(from)])
  }
  for (const [k, arr, from] of kb) if (!ka.some(([kk]) => kk === k)) merged.push([k as string, arr.slice(from)])
  merged.sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
  if (merged.length === 1) return [merged[0]![0], ...merged[0]![1]] as OpList
  return merged.map(([k, sub]) => [k, ...sub]) as unknown as OpList
}
