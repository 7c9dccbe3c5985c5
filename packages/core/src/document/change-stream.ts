import { AbortError } from '../errors.js'
import { AsyncQueue } from '../runtime/async-queue.js'
import type { DocumentFragment } from './fragment.js'

/** One item of `doc.changes()`: what a `change` listener gets. */
export interface DocumentChange<S> {
  /** The visible state after the change. */
  readonly state: S
  /** The last fragment applied (undefined: a snapshot or a rollback changed the state). */
  readonly fragment: DocumentFragment | undefined
  /** Every fragment applied in that tick. */
  readonly batch: readonly DocumentFragment[]
}

type Listener<S> = (state: S, fragment: DocumentFragment | undefined, batch: readonly DocumentFragment[]) => void

/**
 * Change events as an async iterator. `subscribe` adds the change listener, `onClose` registers
 * what ends the stream when the document closes; both return their undo. Leaving the loop
 * (`return`) or an abort releases both.
 */
export function changeStream<S>(
  subscribe: (listener: Listener<S>) => () => void,
  onClose: (end: () => void) => () => void,
  what: string,
  signal: AbortSignal | undefined,
): AsyncIterableIterator<DocumentChange<S>> {
  const queue = new AsyncQueue<DocumentChange<S>>()
  const unsubscribe = subscribe((state, fragment, batch) => queue.push({ state, fragment, batch }))
  const release = () => {
    unsubscribe()
    unregister()
    signal?.removeEventListener('abort', onAbort)
  }
  const end = () => {
    release()
    queue.end()
  }
  const unregister = onClose(end)
  const onAbort = () => {
    release()
    queue.fail(new AbortError(what))
  }
  if (signal?.aborted) onAbort()
  else signal?.addEventListener('abort', onAbort, { once: true })
  const iterator: AsyncIterableIterator<DocumentChange<S>> = {
    next: () => queue.next(),
    return: async () => {
      end()
      return { done: true, value: undefined }
    },
    [Symbol.asyncIterator]: () => iterator,
  }
  return iterator
}
