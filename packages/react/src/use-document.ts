import { useCallback, useEffect, useSyncExternalStore } from 'react'
import type { Document, DocumentFragment, Draft } from '@zinc/core'
import type { CacheEntry } from './document-cache.js'
import { useZincCache } from './provider.js'
import { useSelected, type Equality } from './select.js'

/** Options of `useDocument` and `useSuspenseDocument`. */
export interface UseDocumentOptions<S, T> {
  /** Seeds the document if the root has none yet (see `endpoint.open`). */
  initial?: S
  /** The part of the state this component shows: it re-renders only when that part changes. */
  select?: (state: S) => T
  /** How the selected part is compared (default `Object.is`; `shallowEqual` for selectors that build arrays). */
  equal?: Equality<T>
}

/** What `useDocument` gives: the state (or its selected part) once open, and `change`. */
export interface DocumentView<S, T, P> {
  /** The selected state; undefined while the document is opening (or failed). */
  state: T | undefined
  /** Applies a change (optimistic, sequenced by the root); undefined while opening or when nothing changed. */
  change: (recipe: (draft: Draft<S>) => void) => DocumentFragment | undefined
  /** The document handle, once open (presence, undo, status…). */
  doc: Document<S, P> | undefined
  /** Why opening failed (refused, closed); it is retried when the component mounts again later. */
  error: Error | undefined
}

/** What `useSuspenseDocument` gives: like useDocument's, always open. */
export interface SuspenseDocumentView<S, T, P> {
  /** The selected state. */
  state: T
  /** Applies a change (optimistic, sequenced by the root); undefined when nothing changed. */
  change: (recipe: (draft: Draft<S>) => void) => DocumentFragment | undefined
  /** The document handle (presence, undo, status…). */
  doc: Document<S, P>
}

const identity = <T>(value: T): T => value

/**
 * Opens a document (once per provider, shared) and follows it: typed state, `change`, and a
 * re-render only when the selected part changes.
 *
 * @example
 * ```tsx
 * function Title() {
 *   const { state: title, change } = useDocument<Board, string>('board-1', { initial: { title: '', lists: [] }, select: (b) => b.title })
 *   return <input value={title ?? ''} onChange={(e) => change((d) => { d.title = e.target.value })} />
 * }
 * ```
 */
export function useDocument<S extends object, T = S, P = unknown>(id: string, options: UseDocumentOptions<S, T> = {}): DocumentView<S, T, P> {
  const entry = useEntry(id, options.initial)
  const doc = entry.doc as Document<S, P> | undefined
  const state = useDocState<S, T>(doc, options)
  const change = useChange(doc)
  return { state, change, doc, error: entry.error }
}

/**
 * useDocument for Suspense: the component suspends until the document is open (a
 * `<Suspense fallback>` above shows meanwhile) and an error boundary gets a failed open.
 *
 * @example
 * ```tsx
 * <Suspense fallback={<p>Opening…</p>}><Board /></Suspense>
 * function Board() {
 *   const { state, change } = useSuspenseDocument<Board>('board-1', { initial: { lists: [] } })
 *   return <Lists lists={state.lists} />
 * }
 * ```
 */
export function useSuspenseDocument<S extends object, T = S, P = unknown>(id: string, options: UseDocumentOptions<S, T> = {}): SuspenseDocumentView<S, T, P> {
  const entry = useEntry(id, options.initial)
  if (entry.error) throw entry.error
  if (!entry.doc) throw entry.promise
  const doc = entry.doc as Document<S, P>
  const state = useDocState<S, T>(doc, options) as T
  const change = useChange(doc)
  return { state, change, doc }
}

/** The cache entry of `id`, retained while the component is mounted; re-renders when the open settles. */
export function useEntry(id: string, initial: object | undefined): CacheEntry {
  return useOptionalEntry(id, initial)!
}

/** useEntry, or nothing when `id` is undefined (hooks cannot be called conditionally). */
export function useOptionalEntry(id: string | undefined, initial?: object): CacheEntry | undefined {
  const cache = useZincCache()
  const entry = id === undefined ? undefined : cache.entry(id, initial)
  useEffect(() => (entry ? cache.retain(entry) : undefined), [cache, entry])
  const subscribe = useCallback(
    (onChange: () => void) => {
      entry?.listeners.add(onChange)
      return () => void entry?.listeners.delete(onChange)
    },
    [entry],
  )
  // The settled outcome (doc or error) is what re-renders here.
  const outcome = () => entry?.doc ?? entry?.error
  useSyncExternalStore(subscribe, outcome, outcome)
  return entry
}

function useDocState<S, T>(doc: Document<S, unknown> | undefined, options: UseDocumentOptions<S, T>): T | undefined {
  const subscribe = useCallback((onChange: () => void) => (doc ? doc.subscribe(onChange) : () => {}), [doc])
  const read = useCallback(() => (doc ? doc.state : undefined), [doc])
  const select = options.select ?? (identity as (s: S) => T)
  const selectOrUndefined = useCallback((state: S | undefined) => (state === undefined ? undefined : select(state)), [select])
  return useSelected(subscribe, read, selectOrUndefined, options.equal as Equality<T | undefined> | undefined)
}

function useChange<S>(doc: Document<S, unknown> | undefined): (recipe: (draft: Draft<S>) => void) => DocumentFragment | undefined {
  return useCallback((recipe: (draft: Draft<S>) => void) => (doc ? doc.change(recipe) : undefined), [doc])
}
