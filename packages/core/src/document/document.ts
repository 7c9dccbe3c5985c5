import type { Draft, Patch } from 'immer'
import { applyPatches, produce } from './immer.js'
import { diffToOp, diffWithOrder, recordIdentity, type Identity } from './diff.js'
import { applyOp, composeOps, invertOp, type Op } from './ot.js'
import { UndoStack } from './undo-stack.js'
import { ClosedError, InvalidArgumentError, TimeoutError } from '../errors.js'
import type { DocId, EndpointId } from '../ids.js'
import type { DocumentFragment } from './fragment.js'
import type { Presence } from './presence.js'
import type { Replica } from './replica.js'

/**
 * Listener of {@link Document.subscribe}: the new visible state, the last fragment applied
 * (undefined when the state changed without one: a snapshot, a rejected change rolled back),
 * and every fragment applied in that tick.
 */
export type ChangeListener<S> = (state: S, fragment: DocumentFragment | undefined, batch: readonly DocumentFragment[]) => void

/** What a Document needs from its endpoint. */
export interface DocumentHost {
  setPresence(doc: DocId, value: unknown): void
  closeDocument(doc: DocId): Promise<void>
}

/** Options of {@link Document.change}. */
export interface ChangeOptions {
  /**
   * Consecutive changes with the same group are one undo step: a stroke drawn over many
   * frames, a drag, a paste. Omit for one step per change.
   */
  undoGroup?: string | number
}

/**
 * An application's handle on one shared document: an immutable state that changes through
 * `change(recipe)`, optimistic locally and sequenced by the root for everyone.
 *
 * @example
 * ```ts
 * const doc = await endpoint.open<{ shapes: Record<string, Shape> }>('board-1', { initial: { shapes: {} } })
 * const stop = doc.subscribe((state) => render(state))
 * doc.change((d) => { d.shapes[id] = shape })
 * await doc.synced()
 * stop(); await doc.close()
 * ```
 */
export class Document<S = unknown> {
  /**
   * Ephemeral per-endpoint values (cursors, selections, names): not sequenced, not persisted,
   * gone when the endpoint leaves.
   *
   * @example
   * ```ts
   * doc.presence.set({ cursor: [x, y] })
   * doc.presence.subscribe((all) => drawCursors([...all.values()]))
   * ```
   */
  readonly presence: Presence
  readonly #undo: UndoStack
  readonly #redo: UndoStack
  #closed = false
  readonly #offs: Array<() => void> = []

  /** @internal Made by `endpoint.open`. */
  constructor(
    /** @internal */ readonly replica: Replica,
    /** @internal */ readonly host: DocumentHost,
    /** @internal */ readonly options: { undoLimit: number },
  ) {
    this.#undo = new UndoStack(options.undoLimit)
    this.#redo = new UndoStack(options.undoLimit)
    this.presence = {
      set: (value) => {
        this.#assertOpen()
        host.setPresence(replica.doc, value)
      },
      get: () => replica.presence,
      subscribe: (listener) => replica.events.on('presence', listener),
    }
    this.#offs.push(
      replica.events.on('rejected', (_error, fragment) => {
        this.#undo.forget(fragment.clientSeq)
      }),
      replica.events.on('visibleOp', (op) => {
        this.#undo.follow(op)
        this.#redo.follow(op)
      }),
    )
  }

  /** The id given to `open`. */
  get id(): DocId {
    return this.replica.doc
  }

  /** The current state: confirmed by the root plus this endpoint's pending changes. Frozen. */
  get state(): S {
    return this.replica.visible as S
  }

  /** Seq of the last sequenced fragment applied here. */
  get seq(): number {
    return this.replica.seq
  }

  /** Local changes not yet sequenced by the root. */
  get pendingCount(): number {
    return this.replica.pending.length
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed
  }

  /**
   * Changes the document with an immer recipe: applied locally at once, then sequenced by the
   * root. Returns the fragment (its `confirmed` promise settles on the root's answer), or
   * undefined when the recipe changed nothing.
   *
   * @example
   * ```ts
   * doc.change((d) => { d.notes[id] = { text: 'hi' } })
   * doc.change((d) => { d.x += 1 }, { undoGroup: 'drag-7' }) // one undo step for the whole drag
   * ```
   */
  change(recipe: (draft: Draft<S>) => void, options: ChangeOptions = {}): DocumentFragment | undefined {
    this.#assertOpen()
    if (typeof recipe !== 'function') throw new InvalidArgumentError('doc.change(recipe) takes a function that mutates its draft argument.')
    const before = this.replica.visible as S
    const identity: Identity = new Map()
    const after = produce(before, (draft: Draft<S>) => {
      const result = (recipe as (draft: Draft<S>) => unknown)(draft)
      if (result === undefined) recordIdentity(draft, identity)
      return result as undefined
    })
    const { op, sameOrder } = diffWithOrder(before, after, identity)
    if (op === null) return undefined
    // immer's result is what the op gives (down to key order): no second pass to apply it.
    const fragment = sameOrder ? this.replica.localChange(after, op) : this.#local(before, op)
    const inverse = invertOp(op, before)
    const top = options.undoGroup !== undefined ? this.#undo.top() : undefined
    if (top && top.group === options.undoGroup) {
      // Undoing the group undoes this change first, then the earlier ones.
      top.op = composeOps(inverse, top.op)
      top.clientSeqs.push(fragment.clientSeq)
    } else {
      this.#undo.push({ op: inverse, clientSeqs: [fragment.clientSeq], group: options.undoGroup })
    }
    this.#redo.clear()
    return fragment
  }

  /**
   * Applies an ot-json1 operation as a local change (what undo and redo send). Throws when it
   * does not apply to the current state.
   */
  applyOp(op: Op): DocumentFragment | undefined {
    this.#assertOpen()
    if (op === null) return undefined
    return this.#local(this.replica.visible as S, op)
  }

  /** Applies immer patches as a local change, recorded as the operations they amount to. */
  applyPatches(patches: readonly Patch[]): DocumentFragment | undefined {
    this.#assertOpen()
    const before = this.replica.visible as S
    const op = diffToOp(before, applyPatches(before as object, patches as Patch[]))
    if (op === null) return undefined
    return this.#local(before, op)
  }

  /**
   * The visible state is the op applied to it (not immer's result), so it is exactly what
   * every replica computes, down to key order.
   */
  #local(before: S, op: Op): DocumentFragment {
    const next = applyOp(before, op)
    return this.replica.localChange(next, op)
  }

  /**
   * Undoes this endpoint's most recent change still on the stack by sending its inverse as a
   * new change. Other endpoints' changes are never undone. Returns false when there is nothing
   * to undo, or when the inverse no longer applies (the content was changed by someone else).
   */
  undo(): boolean {
    return this.#step(this.#undo, this.#redo)
  }

  /** Redoes the last undone change. */
  redo(): boolean {
    return this.#step(this.#redo, this.#undo)
  }

  /** Whether {@link Document.undo} has a step to take. */
  get canUndo(): boolean {
    return this.#undo.top() !== undefined
  }

  /** Whether {@link Document.redo} has a step to take. */
  get canRedo(): boolean {
    return this.#redo.top() !== undefined
  }

  #step(from: UndoStack, to: UndoStack): boolean {
    this.#assertOpen()
    for (let entry = from.pop(); entry; entry = from.pop()) {
      const before = this.replica.visible
      let fragment: DocumentFragment | undefined
      let inverse: Op
      try {
        inverse = invertOp(entry.op, before)
        fragment = this.applyOp(entry.op)
      } catch {
        continue // this step's target is gone; try the one before it
      }
      if (!fragment) continue
      to.push({ op: inverse, clientSeqs: [fragment.clientSeq] })
      return true
    }
    return false
  }

  /** Calls `listener` after every change of the visible state; returns an unsubscribe function. */
  subscribe(listener: ChangeListener<S>): () => void {
    this.#assertOpen()
    const off = this.replica.events.on('change', listener as ChangeListener<unknown>)
    this.#offs.push(off)
    return off
  }

  /** Called with each rejected local change (already rolled back from `state`). */
  onRejected(listener: (error: Error, fragment: DocumentFragment) => void): () => void {
    const off = this.replica.events.on('rejected', listener)
    this.#offs.push(off)
    return off
  }

  /**
   * Resolves when every local change made so far has been sequenced by the root. Rejects with
   * `ChangeRejectedError` if one of them was rejected, or `TimeoutError` after `timeoutMs`.
   */
  async synced(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    this.#assertOpen()
    const waiting = this.replica.unsettled.map((p) => p.fragment.confirmed)
    if (waiting.length === 0) return
    const all = Promise.all(waiting).then(() => undefined)
    const { timeoutMs, signal } = options
    if (timeoutMs === undefined && !signal) return all
    let timer: ReturnType<typeof setTimeout> | undefined
    let onAbort: (() => void) | undefined
    try {
      return await Promise.race([
        all,
        new Promise<void>((_, reject) => {
          if (timeoutMs !== undefined)
            timer = setTimeout(
              () => reject(new TimeoutError(`doc.synced() on "${this.id}"`, timeoutMs, 'The root may be unreachable; changes stay pending and are resent when it is back.')),
              timeoutMs,
            )
          if (signal) {
            onAbort = () => reject(signal.reason ?? new Error('aborted'))
            if (signal.aborted) onAbort()
            else signal.addEventListener('abort', onAbort, { once: true })
          }
        }),
      ])
    } finally {
      if (timer) clearTimeout(timer)
      if (signal && onAbort) signal.removeEventListener('abort', onAbort)
    }
  }

  /** Releases this handle; the endpoint stops carrying the document when nothing else uses it. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const off of this.#offs.splice(0)) off()
    await this.host.closeDocument(this.replica.doc)
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError(`Document "${this.replica.doc}"`)
  }
}

export type { EndpointId }
