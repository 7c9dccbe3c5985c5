import * as json1 from 'ot-json1'
import type { Op } from './ot.js'
import { assert, childOf, endPass, enter, insertChild, inserted, isObject, isValidKey, removeChild, assigning, type Container, type Pass } from './draft-pass.js'
import type { Copies } from './record-copy.js'

/**
 * ot-json1's apply, copying each container on a changed path once per pass.
 *
 * json1.apply copies every container on a changed path with `Object.assign`/`slice`, once in
 * its pick phase and again in its drop phase: on a 10,000-key record that is two slow copies
 * per change. An immer draft copies once, but every index a list splice shifts goes through a
 * proxy trap (an insert into an 800-element list cost 150 µs, near its start 900 µs). Here the
 * same two phases (the same walk and the same checks, ported from json1's `apply`) run on
 * plain copies: a container is copied the first time the walk enters it (and only then, however
 * many ops of the pass touch it), everything else is shared with the state before. At the end
 * the copies and the inserted values are frozen, as immer would. The state passed in is never
 * written: an op that throws leaves it as it was. `copies`: how wide records are copied (see
 * record-copy.ts).
 */
export function applyOpsDraft<S>(state: S, ops: readonly Op[], copies: Copies = 'shape'): S {
  const pass: Pass = { fresh: new Set(), inserted: [], copies }
  const wrapper = { root: state }
  pass.fresh.add(wrapper)
  for (const op of ops) if (op !== null) applyOnDraft(pass, wrapper, op)
  endPass(pass)
  return wrapper.root
}

/**
 * A pass left open over ops applied one at a time (the root sequencing a batch): each container
 * is copied once for all of them, where applying each op on its own copied every container on
 * its path again (a 400-key map per fragment). Until `finish` the state is writable and must
 * not leave the caller. An op that does not apply throws and leaves the pass as it was before
 * it: the pass is rebuilt from the base and the ops that applied (rare: a malformed change).
 */
export class OpenPass<S> {
  readonly #base: S
  #pass!: Pass
  #wrapper!: { root: unknown }
  readonly #applied: Array<Exclude<Op, null>> = []

  constructor(
    base: S,
    readonly copies: Copies = 'shape',
  ) {
    this.#base = base
    this.#open()
  }

  #open(): void {
    this.#pass = { fresh: new Set(), inserted: [], copies: this.copies }
    this.#wrapper = { root: this.#base }
    this.#pass.fresh.add(this.#wrapper)
  }

  /** Applies `op` after those applied so far; throws (changing nothing) when it does not apply. */
  apply(op: Op): void {
    if (op === null) return
    try {
      applyOnDraft(this.#pass, this.#wrapper, op)
    } catch (error) {
      this.#open()
      for (const done of this.#applied) applyOnDraft(this.#pass, this.#wrapper, done)
      throw error
    }
    this.#applied.push(op)
  }

  /** The frozen state after every op applied; the pass is closed. */
  finish(): S {
    endPass(this.#pass)
    return this.#wrapper.root as S
  }
}

/**
 * Ops already checked as json1's checkValidOp checks them and deeply frozen, so they cannot have
 * changed since (a received fragment's op: protocol/op-check.ts): applying them does not check
 * them again. The mark is a private field stamped onto the op (the "return override" of a base
 * constructor returning the op): invisible to reflection, JSON and equality, and nearly free to
 * add and test. The symbol-keyed hidden property it replaces (Object.defineProperty) cost ~0.3
 * µs per received op, a WeakSet ~0.8 µs (mostly in the garbage collector). A copy of an op
 * (structuredClone, a spread) is unmarked, so checked again: safe.
 */
class Stamp {
  constructor(op: object) {
    return op
  }
}

class CheckedOp extends Stamp {
  #checked = true

  static has(op: unknown): boolean {
    // `in` throws on a primitive: a malformed op must reach json1's check and its error
    return typeof op === 'object' && op !== null && #checked in op && (op as CheckedOp).#checked
  }
}

/** Marks `op` checked. Call it when everything inside `op` is frozen, before freezing `op` itself. */
export function markChecked(op: unknown[]): void {
  // a second stamp of one object throws (a private field is defined once)
  if (!CheckedOp.has(op)) new CheckedOp(op)
}

/** Whether `op` was marked checked and is frozen (so unchanged since). */
export const isChecked = (op: unknown): boolean => CheckedOp.has(op) && Object.isFrozen(op)

interface Component {
  r?: unknown
  p?: number
  i?: unknown
  d?: number
  es?: unknown
  e?: unknown
  et?: string
}

const hasPick = (c: Component): boolean => c.p != null || c.r !== undefined
/**
 * A replace of an object key on a path of object keys only: its pick and drop name the same
 * place, so it can be an assignment. Below a list index they may not (the op can move the
 * element), and json1's remove-then-insert stands.
 */
const isReplace = (c: Component, key: string | number, inList: boolean): boolean => !inList && typeof key === 'string' && c.r !== undefined && c.p == null && c.i !== undefined

/** The embedded type's apply (text-unicode as registered in ot.ts), via json1 itself. */
function applyEdit(value: unknown, c: Component): unknown {
  const edit: Component = c.es !== undefined ? { es: c.es } : { et: c.et!, e: c.e }
  return json1.type.apply(value as json1.Doc, [edit] as unknown as json1.JSONOp)
}

/**
 * True when nothing after `descent[i]` (a key) writes below that key: only components follow
 * (a replace, removal, insert, drop or edit of the value there as a whole), none of them a
 * pick-up (a moved value may be written into where it lands, so it must be this pass's copy).
 * The value there is then read, not copied: copying a shape to replace it was one more copy
 * (and Set entry) per change.
 */
function endsAt(descent: unknown[], i: number): boolean {
  for (let j = i + 1; j < descent.length; j++) {
    const d = descent[j]
    if (typeof d !== 'object' || d === null || Array.isArray(d) || (d as Component).p != null) return false
  }
  return true
}

/** Applies one op (prefixed with the wrapper's `root` key) to the wrapper draft. */
function applyOnDraft(pass: Pass, wrapper: { root: unknown }, op: Exclude<Op, null>): void {
  if (!isChecked(op)) json1.type.checkValidOp(op)
  const n = keyedShape(op as unknown[])
  if (n >= 0) return applyKeyed(pass, wrapper, op as unknown[], n)
  const descent: unknown[] = ['root', ...(op as unknown[])]
  const held: unknown[] = []
  pick(pass, wrapper, descent, held, false)
  drop(pass, wrapper, descent, held, false)
}

/**
 * The commonest ops: object keys down to one place, and there one component that only inserts,
 * removes or replaces (`['shapes', id, {r, i}]`); or object keys down to a record and below it
 * several such ops, one per key (`['shapes', id, ['x', {r, i}], ['y', {r, i}]]`, what a
 * recipe's assignment of a new shape diffs to). Returns how many keys lead to that place or
 * record, or -1 for any other op (no list index, no pick-up, drop or edit, no nested descent).
 */
function keyedShape(op: unknown[]): number {
  const n = leadingKeys(op)
  if (n === op.length - 1) return n >= 1 && isPlainComponent(op[n]) ? n : -1
  if (op.length - n < 2) return -1
  for (let j = n; j < op.length; j++) {
    const child = op[j]
    if (!Array.isArray(child)) return -1
    const m = leadingKeys(child)
    if (m < 1 || m !== child.length - 1 || !isPlainComponent(child[m])) return -1
  }
  return n
}

/** How many strings `list` starts with. */
function leadingKeys(list: unknown[]): number {
  let n = 0
  while (n < list.length && typeof list[n] === 'string') n++
  return n
}

/** A component that inserts, removes or replaces, and nothing else. */
function isPlainComponent(c: unknown): boolean {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return false
  for (const k in c) if (k !== 'r' && k !== 'i') return false
  return (c as Component).r !== undefined || (c as Component).i !== undefined
}

/**
 * `op` (see keyedShape; `n` keys lead to its place or record) as pick and drop apply it,
 * without their general walk (the op's copy with the wrapper key, the stack, recursion): the
 * same containers entered (a place's value is only read or replaced, a record with ops below
 * it is copied), every pick-up before any drop (children last to first, then first to last),
 * the same checks in the same order, the same errors.
 */
function applyKeyed(pass: Pass, wrapper: { root: unknown }, op: unknown[], n: number): void {
  let container: unknown = wrapper
  let key = 'root'
  for (let i = 0; i < n; i++) {
    container = enter(pass, container, key)
    key = op[i] as string
  }
  if (n === op.length - 1) {
    pickAt(pass, container, key, op[n] as Component)
    dropAt(pass, container, key, op[n] as Component)
    return
  }
  const record = enter(pass, container, key)
  for (let j = op.length - 1; j >= n; j--) {
    const child = op[j] as unknown[]
    const m = child.length - 1
    pickAt(pass, walkKeys(pass, record, child, m - 1), child[m - 1] as string, child[m] as Component)
  }
  for (let j = n; j < op.length; j++) {
    const child = op[j] as unknown[]
    const m = child.length - 1
    dropAt(pass, walkKeys(pass, record, child, m - 1), child[m - 1] as string, child[m] as Component)
  }
}

/** The container reached from `from` by entering the first `count` keys of `path`. */
function walkKeys(pass: Pass, from: unknown, path: unknown[], count: number): unknown {
  let container = from
  for (let i = 0; i < count; i++) container = enter(pass, container, path[i] as string)
  return container
}

/** The pick phase of a plain component at `container[key]`: what is removed or replaced must be there. */
function pickAt(pass: Pass, container: unknown, key: string, c: Component): void {
  if (c.r === undefined) return
  assert(childOf(container, key) !== undefined, 'Cannot pick up or remove undefined')
  // a replace is an assignment in the drop phase: the key keeps its place
  if (c.i === undefined) removeChild(pass, container as Container, key)
}

/** The drop phase of a plain component at `container[key]`. */
function dropAt(pass: Pass, container: unknown, key: string, c: Component): void {
  if (c.i === undefined) return
  if (c.r !== undefined) {
    assert(isObject(container), 'Cannot insert into missing item')
    assigning(pass, container, key)
    container[key] = inserted(pass, c.i, false)
  } else insertChild(pass, container as Container, key, inserted(pass, c.i, false))
}

/**
 * Pick phase: removals and pick-ups, children first and lists from the highest index down
 * (json1 orders descents so), so indexes stay those of the document before the op.
 */
function pick(pass: Pass, parent: unknown, descent: unknown[], held: unknown[], inListAbove: boolean): void {
  // Walk the keys of this descent, then the child descents, then components bottom-up.
  const stack: Array<{ container: unknown; key: string | number; inList: boolean }> = []
  let sub: unknown = parent
  let inList = inListAbove
  let i = 0
  for (; i < descent.length; i++) {
    const d = descent[i]
    if (Array.isArray(d)) break
    if (typeof d !== 'object') {
      stack.push({ container: sub, key: d as string | number, inList })
      if (typeof d === 'number') inList = true
      sub = endsAt(descent, i) ? childOf(sub, d as string | number) : enter(pass, sub, d as string | number)
    }
  }
  for (let j = descent.length - 1; j >= i; j--) pick(pass, sub, descent[j] as unknown[], held, inList)
  for (let k = i - 1; k >= 0; k--) {
    const d = descent[k]
    if (typeof d !== 'object' || d === null) {
      stack.pop()
      continue
    }
    const c = d as Component
    if (!hasPick(c)) continue
    const at = stack[stack.length - 1]!
    // A replace of an object key (removed and inserted by one component) is an assignment in
    // the drop phase: the key keeps its place, as with an immer recipe's assignment.
    if (isReplace(c, at.key, at.inList)) {
      assert(childOf(at.container, at.key) !== undefined, 'Cannot pick up or remove undefined')
      continue
    }
    const value = childOf(at.container, at.key)
    assert(value !== undefined, 'Cannot pick up or remove undefined')
    if (c.p != null) held[c.p] = value
    removeChild(pass, at.container as Container, at.key)
  }
}

/** Drop phase: insertions, drops and edits, in order, at indexes of the resulting document. */
function drop(pass: Pass, parent: unknown, descent: unknown[], held: unknown[], inListAbove: boolean): void {
  let container: unknown = undefined
  let key: string | number | undefined
  let sub: unknown = parent
  let inList = inListAbove
  let keyInList = inListAbove
  for (let n = 0; n < descent.length; n++) {
    const d = descent[n]
    if (Array.isArray(d)) {
      drop(pass, sub, d, held, inList)
      sub = key === undefined ? parent : enter(pass, container, key)
    } else if (typeof d === 'object' && d !== null) {
      const c = d as Component
      assert(key !== undefined, 'A component needs a key')
      if (isReplace(c, key, keyInList)) {
        assert(isObject(container), 'Cannot insert into missing item')
        assigning(pass, container, key)
        container[key as string] = inserted(pass, c.i, n < descent.length - 1)
        sub = childOf(container, key)
      } else if (c.d != null) sub = insertChild(pass, container as Container, key, held[c.d])
      else if (c.i !== undefined) sub = insertChild(pass, container as Container, key, inserted(pass, c.i, n < descent.length - 1))
      if (c.es !== undefined || c.e !== undefined) {
        assert(isValidKey(container, key), 'Cannot edit a missing item')
        const edited = applyEdit(childOf(container, key), c)
        assigning(pass, container, key)
        ;(container as Container)[key as never] = edited as never
        sub = childOf(container, key)
      }
    } else {
      container = sub
      key = d as string | number
      keyInList = inList
      if (typeof key === 'number') inList = true
      sub = endsAt(descent, n) ? childOf(container, key) : enter(pass, container, key)
    }
  }
}
