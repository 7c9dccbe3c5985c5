import { useCallback, useEffect, useRef } from 'react'
import type { Document, EndpointId } from '@zinc/core'
import { useEntry } from './use-document.js'
import { useEndpoint } from './provider.js'
import { useSelected, shallowEqual, type Equality } from './select.js'

/** Another endpoint's presence value on a document. */
export interface Other<P> {
  readonly id: EndpointId
  readonly presence: P
}

const EMPTY: ReadonlyMap<EndpointId, unknown> = new Map<EndpointId, unknown>()

/**
 * This endpoint's presence on a document (cursor, selection, name…) and its setter: typed by
 * `P`, ephemeral, gone when this endpoint leaves. The value is undefined until set (and while
 * the document is opening; a value set meanwhile is applied once it is open).
 *
 * @example
 * ```tsx
 * const [me, setMe] = usePresence<{ name: string; editing?: string }>('board-1')
 * ```
 */
export function usePresence<P>(id: string): [P | undefined, (value: P | null) => void] {
  const entry = useEntry(id, undefined)
  const doc = entry.doc as Document<unknown, P> | undefined
  const self = useEndpoint().id as EndpointId
  const all = usePresenceMap<P>(doc)
  // Set before the document is open: applied once it is.
  const wanted = useRef<{ value: P | null } | undefined>(undefined)
  const set = useCallback(
    (value: P | null) => {
      if (doc) doc.presence.set(value)
      else wanted.current = { value }
    },
    [doc],
  )
  useEffect(() => {
    if (!doc || !wanted.current) return
    doc.presence.set(wanted.current.value)
    wanted.current = undefined
  }, [doc])
  return [all.get(self), set]
}

/**
 * Everyone else's presence on a document, selected: re-renders only when the selected part
 * changes (default: the list of others, compared item by item).
 *
 * @example
 * ```tsx
 * const editors = useOthers<Cursor, string[]>('board-1', (others) => others.filter((o) => o.presence.editing === cardId).map((o) => o.presence.name), shallowEqual)
 * ```
 */
export function useOthers<P, T = ReadonlyArray<Other<P>>>(id: string, select?: (others: ReadonlyArray<Other<P>>) => T, equal?: Equality<T>): T {
  const entry = useEntry(id, undefined)
  const doc = entry.doc as Document<unknown, P> | undefined
  const self = useEndpoint().id as EndpointId
  const subscribe = useCallback((onChange: () => void) => (doc ? doc.presence.subscribe(onChange) : () => {}), [doc])
  const read = useCallback(() => (doc ? doc.presence.get() : (EMPTY as ReadonlyMap<EndpointId, P>)), [doc])
  const pick = useCallback(
    (all: ReadonlyMap<EndpointId, P>) => {
      const others: Array<Other<P>> = []
      for (const [who, presence] of all) if (who !== self && presence !== undefined && presence !== null) others.push({ id: who, presence })
      return select ? select(others) : (others as unknown as T)
    },
    [self, select],
  )
  // The presence map is updated in place: a re-read after an event must not be taken for "unchanged".
  return useSelected(subscribe, useVersioned(read, doc), (v) => pick(v.map), (equal ?? (select ? Object.is : othersEqual)) as Equality<T>)
}

function usePresenceMap<P>(doc: Document<unknown, P> | undefined): ReadonlyMap<EndpointId, P> {
  const subscribe = useCallback((onChange: () => void) => (doc ? doc.presence.subscribe(onChange) : () => {}), [doc])
  const read = useCallback(() => (doc ? doc.presence.get() : (EMPTY as ReadonlyMap<EndpointId, P>)), [doc])
  return useSelected(subscribe, useVersioned(read, doc), copyMap<P>, mapEqual)
}

/**
 * The presence map is one object mutated in place, so "same object" says nothing: each read
 * is wrapped anew, and the selector plus its equality decide whether anything changed.
 */
function useVersioned<P>(read: () => ReadonlyMap<EndpointId, P>, doc: unknown): () => { map: ReadonlyMap<EndpointId, P> } {
  return useCallback(() => ({ map: read() }), [read, doc])
}

function copyMap<P>(v: { map: ReadonlyMap<EndpointId, P> }): ReadonlyMap<EndpointId, P> {
  return new Map(v.map)
}

function othersEqual<P>(a: ReadonlyArray<Other<P>>, b: ReadonlyArray<Other<P>>): boolean {
  return a.length === b.length && a.every((o, i) => o.id === b[i]!.id && Object.is(o.presence, b[i]!.presence))
}

function mapEqual<P>(a: ReadonlyMap<EndpointId, P>, b: ReadonlyMap<EndpointId, P>): boolean {
  if (a.size !== b.size) return false
  for (const [k, v] of a) if (!Object.is(v, b.get(k))) return false
  return true
}

export { shallowEqual }
