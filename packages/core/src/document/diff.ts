import fastDiff from 'fast-diff'
import { composeOps, editOp, insertOp, moveOp, removeOp, replaceOp, type Op } from './ot.js'

type Path = Array<string | number>

/**
 * The operations a person would name for one `doc.change`, found by comparing the state
 * before and after the recipe. immer keeps the references of everything the recipe did not
 * touch, so:
 * - in an array, elements are matched by identity; unmatched old elements between the same
 *   two matched neighbours are paired with unmatched new ones in order and diffed in place
 *   (an element edited where it stands); the rest are removals, insertions and moves (the
 *   matched elements outside the longest run that kept its order);
 * - a string that replaces a string becomes a text edit (fast-diff's inserted and deleted
 *   ranges), so concurrent typing into one field merges;
 * - object keys are set, removed or descended into; anything else is replaced.
 *
 * Returns null when nothing changed.
 */
export function diffToOp(before: unknown, after: unknown): Op {
  const ops: Op[] = []
  diff(before, after, [], ops)
  let op: Op = null
  for (const o of ops) op = composeOps(op, o)
  return op
}

function kind(v: unknown): 'array' | 'object' | 'string' | 'other' {
  if (typeof v === 'string') return 'string'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'object' && v !== null) return 'object'
  return 'other'
}

function diff(before: unknown, after: unknown, path: Path, out: Op[]): void {
  if (before === after) return
  const k = kind(before)
  if (k !== kind(after) || k === 'other') {
    if (before === undefined) out.push(insertOp(path, after as never))
    else if (after === undefined) out.push(removeOp(path))
    else if (!Object.is(before, after)) out.push(replaceOp(path, true, after as never))
    return
  }
  if (k === 'string') return diffText(before as string, after as string, path, out)
  if (k === 'array') return diffArray(before as unknown[], after as unknown[], path, out)
  const b = before as Record<string, unknown>
  const a = after as Record<string, unknown>
  for (const key of Object.keys(b)) {
    if (!Object.prototype.hasOwnProperty.call(a, key)) out.push(removeOp([...path, key]))
  }
  for (const key of Object.keys(a)) {
    if (!Object.prototype.hasOwnProperty.call(b, key)) out.push(insertOp([...path, key], a[key] as never))
    else diff(b[key], a[key], [...path, key], out)
  }
}

function diffText(before: string, after: string, path: Path, out: Op[]): void {
  const text: Array<number | string | { d: number }> = []
  for (const [type, s] of fastDiff(before, after)) {
    if (type === fastDiff.EQUAL) text.push(countPoints(s))
    else if (type === fastDiff.INSERT) text.push(s)
    else text.push({ d: countPoints(s) })
  }
  while (typeof text[text.length - 1] === 'number') text.pop()
  if (text.length > 0) out.push(editOp(path, 'text-unicode', text))
}

function countPoints(s: string): number {
  let n = 0
  for (const _ of s) n++
  return n
}

function diffArray(before: unknown[], after: unknown[], path: Path, out: Op[]): void {
  // Common ends by identity first: a push, an edit of one element or an insert in a long list
  // costs no more than the elements it touches.
  let start = 0
  while (start < before.length && start < after.length && before[start] === after[start]) start++
  let endB = before.length
  let endA = after.length
  while (endB > start && endA > start && before[endB - 1] === after[endA - 1]) {
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
    const list = byValue.get(after[j])
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
  const anchors = [...[...stable].sort((x, y) => x - y), endA]
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
  // 4. Elements edited in place, at their final index.
  for (const [j, i] of paired) diff(before[i], after[j], [...path, j], out)
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
