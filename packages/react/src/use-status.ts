import { useCallback, useRef, useSyncExternalStore } from 'react'
import type { Document, Role } from '@zinc/core'
import { useEndpoint } from './provider.js'
import { useOptionalEntry } from './use-document.js'

/** Where this tab stands: connected or not, its role, and whether a document is caught up. */
export interface ZincStatus {
  /** Part of the tree now (welcomed by a parent that has not gone silent; see `endpoint.connected`). */
  readonly connected: boolean
  readonly role: Role
  /** The document's status, when a document id was given: `caught-up` or `syncing`. */
  readonly document: Document['status'] | undefined
  /** True when the document is caught up (every local change confirmed, nothing known to be missing). */
  readonly caughtUp: boolean
  /** The document's local changes not yet confirmed by the root (0 without a document). */
  readonly pending: number
}

/**
 * The connection, the role, and (given a document id) whether that document is caught up
 * and how many of its changes are pending. Re-renders only when one of these changes.
 *
 * @example
 * ```tsx
 * const { connected, caughtUp, pending } = useStatus('board-1')
 * return <span>{connected ? (caughtUp ? 'saved' : `saving ${pending}…`) : 'offline — changes are kept'}</span>
 * ```
 */
export function useStatus(id?: string): ZincStatus {
  const endpoint = useEndpoint()
  const entry = useOptionalEntry(id)
  const doc = entry?.doc as Document<unknown, unknown> | undefined
  const subscribe = useCallback(
    (onChange: () => void) => {
      const offs = [endpoint.on('role', onChange), endpoint.on('parent-lost', onChange), endpoint.on('parent-back', onChange), endpoint.on('closed', onChange)]
      if (doc) offs.push(doc.subscribe(onChange), doc.on('status', onChange), doc.on('rejected', onChange))
      // Acknowledgements change `pending` without an event of their own: look again now and then.
      const timer = setInterval(onChange, 500)
      return () => {
        clearInterval(timer)
        for (const off of offs) off()
      }
    },
    [endpoint, doc],
  )
  const last = useRef<ZincStatus | undefined>(undefined)
  const read = useCallback((): ZincStatus => {
    const next: ZincStatus = {
      connected: endpoint.connected,
      role: endpoint.role,
      document: doc?.status,
      caughtUp: doc?.status === 'caught-up',
      pending: doc?.pendingCount ?? 0,
    }
    const prev = last.current
    if (prev && prev.connected === next.connected && prev.role === next.role && prev.document === next.document && prev.pending === next.pending) return prev
    last.current = next
    return next
  }, [endpoint, doc])
  return useSyncExternalStore(subscribe, read, read)
}
