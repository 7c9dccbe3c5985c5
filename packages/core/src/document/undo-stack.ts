import { interacts, PlaceIndex, transformPast, type Op } from './ot.js'

/** One undo (or redo) step, as the stack hands it out: settled over everything seen so far. */
export interface UndoStep {
  /**
   * The op that undoes (or, on the redo stack, redoes) one step: one change, or a group. Kept
   * applicable to the current visible state: every change that reaches the visible state from
   * elsewhere transforms it (so undoing an insert removes that element, wherever it went).
   */
  op: Op
  /** The local changes this step covers (a rejected one leaves the stack). */
  clientSeqs: number[]
  group?: string | number
}

interface Entry extends UndoStep {
  /** Ops that reached the visible state, not yet carried past this step (oldest first). */
  behind: Op[]
}

/** Ops held in `behind` lists, across the stack, before every step is brought up to date. */
const MAX_BEHIND = 1024

/**
 * An undo or redo stack that follows the visible state lazily.
 *
 * Every op that moves the visible state (made elsewhere, or a rollback) must be carried past
 * each step, newest first: the step is rewritten to apply after it, and the op to apply below
 * that step for the next one. Done at once, a burst of F arriving changes over S steps costs
 * S × F transforms, most for steps nobody undoes. Here an op waits in the top step's `behind`
 * list and goes down one step at a time, when a step is needed (undo, redo, canUndo, grouping)
 * or when too many wait: the same transforms in the same order, so the same result, but only
 * for the steps that are reached. Steps whose target is gone become no-ops and are dropped.
 */
export class UndoStack {
  #entries: Entry[] = []
  #behind = 0
  /**
   * The places the steps' ops touch (a superset: forms they had before, steps gone), so an op
   * elsewhere is not queued at all: it would pass every step unchanged and change none (see
   * #settle). Rebuilt when it has grown well past the steps it covers.
   */
  #places = new PlaceIndex()
  #placesAdded = 0

  constructor(readonly limit: number) {}

  /** The visible state moved by `op`. */
  follow(op: Op): void {
    const top = this.#entries[this.#entries.length - 1]
    if (!top || op === null || !this.#places.touches(op)) return
    top.behind.push(op)
    if (++this.#behind > MAX_BEHIND) this.#settleAll()
  }

  push(step: UndoStep): void {
    // Built field by field: a spread copy of the step cost more than the rest of push.
    this.#entries.push({ op: step.op, clientSeqs: step.clientSeqs, group: step.group, behind: [] })
    this.#addPlace(step.op)
    if (this.#entries.length > this.limit) this.#behind -= this.#entries.shift()!.behind.length
  }

  /** Replaces the newest step's op (a change joined its group); call after top(). */
  amendTop(op: Op): void {
    const top = this.#entries[this.#entries.length - 1]
    if (!top) return
    top.op = op
    this.#addPlace(op)
  }

  #addPlace(op: Op): void {
    if (this.#placesAdded > 2 * this.#entries.length + 64) {
      this.#places = new PlaceIndex()
      this.#placesAdded = 0
      for (const e of this.#entries) this.#places.add(e.op)
    }
    this.#places.add(op)
    this.#placesAdded++
  }

  /** The newest step that still does something, brought up to date; undefined when none is left. */
  top(): UndoStep | undefined {
    for (;;) {
      const i = this.#entries.length - 1
      if (i < 0) return undefined
      this.#settle(i)
      const entry = this.#entries[i]!
      if (entry.op !== null) return entry
      this.#entries.pop()
    }
  }

  /** Takes the newest step that still does something off the stack. */
  pop(): UndoStep | undefined {
    const step = this.top()
    if (step) this.#entries.pop()
    return step
  }

  /** Forgets the steps covering a local change (it was rejected). */
  forget(clientSeq: number): void {
    if (!this.#entries.some((e) => e.clientSeqs.includes(clientSeq))) return
    this.#settleAll()
    this.#entries = this.#entries.filter((e) => !e.clientSeqs.includes(clientSeq))
  }

  clear(): void {
    // Every local change clears the redo stack, nearly always empty already: no new index then.
    if (this.#entries.length === 0 && this.#placesAdded === 0) return
    this.#entries = []
    this.#behind = 0
    this.#places = new PlaceIndex()
    this.#placesAdded = 0
  }

  /** Carries the ops waiting at step `i` past it, on to the step below. */
  #settle(i: number): void {
    const entry = this.#entries[i]!
    if (entry.behind.length === 0) return
    const below = i > 0 ? this.#entries[i - 1]! : undefined
    this.#behind -= entry.behind.length
    for (let over of entry.behind) {
      // On unrelated places both pass unchanged (transformOp's contract): a path comparison,
      // not two transforms, for each of the others' changes a step is carried past.
      if (entry.op !== null && over !== null && interacts(entry.op, over)) {
        try {
          const before = entry.op
          ;({ op: entry.op, over } = transformPast(entry.op, over))
          if (entry.op !== before) this.#addPlace(entry.op)
        } catch {
          entry.op = null
        }
      }
      if (below && over !== null) {
        below.behind.push(over)
        this.#behind++
      }
    }
    entry.behind = []
  }

  #settleAll(): void {
    for (let i = this.#entries.length - 1; i >= 0; i--) this.#settle(i)
    this.#entries = this.#entries.filter((e) => e.op !== null)
  }
}
