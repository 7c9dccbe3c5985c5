import fastDiff from 'fast-diff'
import * as json1 from 'ot-json1'
import { changedKeysOf, type Identity } from './draft-record.js'
import { codePoints, composeOps, editOp, insertOp, moveOp, removeOp, replaceOp, type Op } from './ot.js'
import { isRewrite, textEdits } from './text-diff.js'

// document.ts records and freezes a recipe's result through these, beside the diff they serve.
export { freezeChanged, recordIdentity, type Identity } from './draft-record.js'

type Path = Array<string | number>

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
  const changed = order.byKeys ? changedKeysOf(a) : undefined
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
