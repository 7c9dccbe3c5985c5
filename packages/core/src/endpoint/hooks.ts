import type { Op } from '../document/ot.js'
import { HookError } from '../errors.js'
import type { DocId, EndpointId } from '../ids.js'
import type { Clock } from '../runtime/clock.js'

/** true admits; false or a string (the reason) refuses. */
export type Verdict = boolean | string

/**
 * What `validate` sees of one change, at the root, where it is about to be sequenced: the
 * operation already transformed over concurrent changes, and the document before and after
 * it. Both states are frozen; `after` is exactly what every replica will hold.
 */
export interface ChangeRequest<S = unknown> {
  doc: DocId
  /** The endpoint that made the change. */
  endpoint: EndpointId
  /** The change as an ot-json1 operation, as it will be sequenced. */
  ops: Op
  before: S
  after: S
}

/** What `onChange` sees: a change sequenced (and stored, with `storage`) by the root. */
export interface ChangeEvent<S = unknown> extends ChangeRequest<S> {
  seq: number
  /** The author's counter for this change (per author and document). */
  clientSeq: number
}

/** What `onLoad` is asked: a document the root does not hold (in memory or in `storage`). */
export interface LoadRequest {
  doc: DocId
}

/** What `onStore` is given: a document's confirmed state at `seq`. */
export interface StoreRequest<S = unknown> {
  doc: DocId
  seq: number
  state: S
}

/**
 * Hooks on content, run by the root (like Hocuspocus's onChange / onLoadDocument /
 * onStoreDocument, or ShareDB's middleware). Every hook may be async; each call is bounded by
 * `hookTimeoutMs`. A hook that throws, rejects or times out never stops the endpoint: what it
 * guarded is refused with a reason that says so (a change, an open) or retried (a store).
 */
export interface ServerHooks {
  /**
   * Accepts (true) or refuses (false, or a string: the reason the author's `confirmed` and
   * `onRejected` see) one change from another endpoint. Not asked for the root's own changes
   * (the application's own server code). Changes are validated one at a time, in the order the
   * root sequences them; while one is awaited, later ones wait (never out of order).
   */
  validate?: (change: ChangeRequest) => Verdict | Promise<Verdict>
  /**
   * Called after each change is sequenced and durable (stored, when the root has `storage`),
   * one call at a time per document, in seq order: webhooks, search indexing, audit logs. A
   * failure is logged and counted (`hookErrors`); the change stays in.
   */
  onChange?: (change: ChangeEvent) => void | Promise<void>
  /**
   * A document the root does not hold yet, in memory or in `storage`: return its state from the
   * application's own database, or undefined to start from the opener's `initial`. A failure
   * refuses the open (`ERR_UNAVAILABLE`, retried by the opener).
   */
  onLoad?: (request: LoadRequest) => unknown | Promise<unknown>
  /**
   * Stores a document's state in the application's own database: called `storeDebounceMs`
   * after the last change of a burst (at least every 5 × `storeDebounceMs` while changes keep
   * coming), and once more when the endpoint closes. A failure is logged and retried at the
   * next change or close.
   */
  onStore?: (request: StoreRequest) => void | Promise<void>
}

/**
 * Calls a hook, bounded by `timeoutMs`: returns its result as is when it answers synchronously
 * (the hot path stays synchronous), otherwise a promise. A throw, a rejection or a timeout
 * becomes a `HookError` naming the hook.
 */
export function callHook<T>(hook: string, call: () => T | Promise<T>, timeoutMs: number, clock: Clock): T | Promise<T> {
  let result: T | Promise<T>
  try {
    result = call()
  } catch (error) {
    throw new HookError(hook, false, describe(error), { cause: error })
  }
  if (!isThenable(result)) return result
  const pending = result
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => reject(new HookError(hook, true, String(timeoutMs))), timeoutMs)
    pending.then(
      (value) => {
        clock.clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clock.clearTimeout(timer)
        reject(new HookError(hook, false, describe(error), { cause: error }))
      },
    )
  })
}

function isThenable<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function'
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
