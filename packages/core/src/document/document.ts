import type { Draft, Patch } from 'immer'
import { applyPatches, produceUnfrozen } from './immer.js'
import { diffToOp, diffWithOrder, freezeChanged, recordIdentity, type Identity } from './diff.js'
import { applyOp, composeOps, invertOp, type Op } from './ot.js'
import { UndoStack } from './undo-stack.js'
import { ClosedError, InvalidArgumentError, type ChangeRejectedError } from '../errors.js'
import type { DocId, EndpointId } from '../ids.js'
import { bounded, throwIfAborted } from '../runtime/abort.js'
import type { DocumentFragment } from './fragment.js'
import type { Presence } from './presence.js'
import type { DocumentStatus, Replica, ReplicaEvents } from './replica.js'
import { OwnListeners } from './own-listeners.js'
import { changeStream, type DocumentChange } from './change-stream.js'

export type { DocumentStatus } from './replica.js'
export type { DocumentChange } from './change-stream.js'

/**
 * Listener of {@link Document.subscribe}: the new visible state, the last fragment applied
 * (undefined when the state changed without one: a snapshot, a rejected change rolled back),
 * and every fragment applied in that tick.
 */
export type ChangeListener<S> = (state: S, fragment: DocumentFragment | undefined, batch: readonly DocumentFragment[]) => void

/**
 * Events of a {@link Document} (`doc.on(event, listener)`), dispatched on a microtask.
 * `S` is the state's type, `P` the presence value's.
 */
export type DocumentEvents<S = unknown, P = unknown> = {
  /** The visible state changed (see {@link ChangeListener}). */
  change: [state: S, fragment: DocumentFragment | undefined, batch: readonly DocumentFragment[]]
  /** A local change was refused by the root and rolled back. */
  rejected: [error: ChangeRejectedError, fragment: DocumentFragment]
  /** Any endpoint's presence value changed. */
  presence: [presence: ReadonlyMap<EndpointId, P>]
  /** `caught-up` or `syncing` (see {@link Document.status}). */
  status: [status: DocumentStatus]
}

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
export class Document<S = unknown, P = unknown> implements AsyncDisposable, AsyncIterable<DocumentChange<S>> {
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
  readonly presence: Presence<P>
  readonly #undo: UndoStack
  readonly #redo: UndoStack
  #closed = false
  /** This handle's own subscriptions to its replica (several handles may share one replica). */
  readonly #offs: Array<() => void> = []
  /** Listeners added with on/once, so off and close release exactly this handle's. */
  readonly #listeners: OwnListeners<ReplicaEvents>
  /** Ends every open change stream (close). */
  readonly #streams = new Set<() => void>()
  readonly #ready: Promise<void>
  readonly #replica: Replica
  readonly #host: DocumentHost

  /** @internal Made by `endpoint.open`. */
  constructor(replica: Replica, host: DocumentHost, options: { undoLimit: number }) {
    this.#replica = replica
    this.#host = host
    this.#undo = new UndoStack(options.undoLimit)
    this.#redo = new UndoStack(options.undoLimit)
    this.#listeners = new OwnListeners(replica.events)
    this.presence = {
      set: (value) => {
        this.#assertOpen()
        host.setPresence(replica.doc, value)
      },
      get: () => replica.presence as ReadonlyMap<EndpointId, P>,
      // Released by close(), like every listener of this handle.
      subscribe: (listener) => this.on('presence', listener),
    }
    this.#ready = new Promise<void>((resolve, reject) => {
      if (replica.status === 'caught-up') return resolve()
      const off = replica.events.on('status', (status) => {
        if (status !== 'caught-up') return
        off()
        resolve()
      })
      this.#offs.push(off, () => reject(new ClosedError(`Document "${replica.doc}"`)))
    })
    // Nobody has to await it; awaiting it still sees the rejection.
    this.#ready.catch(() => {})
    this.#offs.push(
      replica.events.on('rejected', (_error, fragment) => {
        this.#undo.forget(fragment.clientSeq)
      }),
      replica.events.on('visibleOps', (ops) => {
        for (const op of ops) {
          this.#undo.follow(op)
          this.#redo.follow(op)
        }
      }),
    )
  }

  /**
   * `caught-up` once every local change is confirmed by the root and this replica holds all
   * its parent was last known to hold (heartbeats carry its head); `syncing` before and while
   * that is not so. The connection itself is `endpoint.connected`.
   */
  get status(): DocumentStatus {
    return this.#replica.status
  }

  /**
   * Resolves the first time the document is caught up (see {@link Document.status}): what it
   * shows is confirmed and current. Rejects with `ClosedError` if it is closed before.
   *
   * @example
   * ```ts
   * const doc = await endpoint.open<Board>('board-1')
   * await doc.ready
   * ```
   */
  get ready(): Promise<void> {
    return this.#ready
  }

  /**
   * Resolves once this replica has applied everything up to `seq` (for example the seq a
   * fragment's `confirmed` gave on another endpoint). Rejects with `AbortError` when `signal`
   * aborts, `TimeoutError` after `timeoutMs`, `ClosedError` when the document closes first.
   */
  async whenSeq(seq: number, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    this.#assertOpen()
    if (!Number.isSafeInteger(seq) || seq < 0) throw new InvalidArgumentError(`whenSeq(seq) takes a sequence number (an integer >= 0), got ${String(seq)}.`)
    if (this.#replica.seq >= seq) return
    const offs: Array<() => void> = []
    const reached = new Promise<void>((resolve, reject) => {
      offs.push(
        this.#replica.events.on('seq', (now) => {
          if (now >= seq) resolve()
        }),
      )
      const closed = () => reject(new ClosedError(`Document "${this.id}"`))
      this.#streams.add(closed)
      offs.push(() => this.#streams.delete(closed))
    })
    try {
      await bounded(reached, { ...options, what: `doc.whenSeq(${seq}) on "${this.id}"`, hint: 'The root may be unreachable, or the seq not reached yet.' })
    } finally {
      for (const off of offs) off()
    }
  }

  /** The id given to `open`. */
  get id(): DocId {
    return this.#replica.doc
  }

  /** The current state: confirmed by the root plus this endpoint's pending changes. Frozen. */
  get state(): S {
    return this.#replica.visible as S
  }

  /** Seq of the last sequenced fragment applied here. */
  get seq(): number {
    return this.#replica.seq
  }

  /** Local changes not yet sequenced by the root. */
  get pendingCount(): number {
    return this.#replica.pending.length
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
    const before = this.#replica.visible as S
    const identity: Identity = new Map()
    const after = produceUnfrozen(before, (draft: Draft<S>) => {
      const result = (recipe as (draft: Draft<S>) => unknown)(draft)
      if (result === undefined) recordIdentity(draft, identity)
      return result as undefined
    })
    // Frozen before anything else sees it, walking only what the recipe changed.
    freezeChanged(after)
    const { op, sameOrder } = diffWithOrder(before, after, identity)
    if (op === null) return undefined
    // immer's result is what the op gives (down to key order): no second pass to apply it.
    const fragment = sameOrder ? this.#replica.localChange(after, op) : this.#local(before, op)
    const inverse = invertOp(op, before)
    const top = options.undoGroup !== undefined ? this.#undo.top() : undefined
    if (top && top.group === options.undoGroup) {
      // Undoing the group undoes this change first, then the earlier ones.
      this.#undo.amendTop(composeOps(inverse, top.op))
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
    return this.#local(this.#replica.visible as S, op)
  }

  /** Applies immer patches as a local change, recorded as the operations they amount to. */
  applyPatches(patches: readonly Patch[]): DocumentFragment | undefined {
    this.#assertOpen()
    const before = this.#replica.visible as S
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
    return this.#replica.localChange(next, op)
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
      const before = this.#replica.visible
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
    return this.on('change', listener)
  }

  /** Called with each rejected local change (already rolled back from `state`). */
  onRejected(listener: (error: ChangeRejectedError, fragment: DocumentFragment) => void): () => void {
    return this.on('rejected', listener)
  }

  /**
   * Adds a listener of a {@link DocumentEvents} event; returns a function that removes it.
   * `close()` removes every listener of this handle.
   *
   * @example
   * ```ts
   * doc.on('status', (status) => console.log(status)) // 'caught-up' | 'syncing'
   * ```
   */
  on<K extends keyof DocumentEvents<S, P>>(event: K, listener: (...args: DocumentEvents<S, P>[K]) => void): () => void {
    this.#assertOpen()
    this.#listeners.on(event, listener as never)
    return () => this.off(event, listener)
  }

  /** Like {@link Document.on}, for the next event only. */
  once<K extends keyof DocumentEvents<S, P>>(event: K, listener: (...args: DocumentEvents<S, P>[K]) => void): () => void {
    this.#assertOpen()
    this.#listeners.once(event, listener as never)
    return () => this.off(event, listener)
  }

  /** Removes a listener added with `on` or `once` on this handle. */
  off<K extends keyof DocumentEvents<S, P>>(event: K, listener: (...args: DocumentEvents<S, P>[K]) => void): void {
    this.#listeners.off(event, listener as never)
  }

  /**
   * The changes of the visible state from now on, as an async iterator: one item per
   * `change` event. Ends when the document closes or the loop is left; rejects with
   * `AbortError` when `signal` aborts. Items wait for a slow reader (unbounded: read them).
   *
   * @example
   * ```ts
   * for await (const { state, batch } of doc.changes({ signal })) render(state, batch)
   * ```
   */
  changes(options: { signal?: AbortSignal } = {}): AsyncIterableIterator<DocumentChange<S>> {
    this.#assertOpen()
    return changeStream<S>(
      (listener) => this.on('change', listener),
      (end) => {
        this.#streams.add(end)
        return () => this.#streams.delete(end)
      },
      `doc.changes() on "${this.id}"`,
      options.signal,
    )
  }

  /** `for await (const change of doc)`: {@link Document.changes} without a signal. */
  [Symbol.asyncIterator](): AsyncIterableIterator<DocumentChange<S>> {
    return this.changes()
  }

  /**
   * Resolves when every local change made so far has been sequenced by the root. Rejects with
   * `ChangeRejectedError` if one of them was rejected, or `TimeoutError` after `timeoutMs`.
   */
  async synced(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    this.#assertOpen()
    const waiting = this.#replica.unsettled.map((p) => p.fragment.confirmed)
    const what = `doc.synced() on "${this.id}"`
    if (waiting.length === 0) return throwIfAborted(options.signal, what)
    const all = Promise.all(waiting).then(() => undefined)
    await bounded(all, { ...options, what, hint: 'The root may be unreachable; changes stay pending and are resent when it is back.' })
  }

  /** Releases this handle; the endpoint stops carrying the document when nothing else uses it. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const off of this.#offs.splice(0)) off()
    this.#listeners.releaseAll()
    for (const end of [...this.#streams]) end()
    await this.#host.closeDocument(this.#replica.doc)
  }

  /** Same as {@link Document.close}, for `await using doc = await endpoint.open(…)`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError(`Document "${this.#replica.doc}"`)
  }
}

export type { EndpointId }
