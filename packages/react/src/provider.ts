import { createContext, createElement, useContext, useMemo, type ReactNode } from 'react'
import type { Endpoint } from '@zinc/core'
import { DocumentCache } from './document-cache.js'

const ZincContext = createContext<DocumentCache | null>(null)

export interface ZincProviderProps {
  /** A started endpoint (`Endpoint.start`); the provider does not close it. */
  // oxlint-disable-next-line no-explicit-any -- any endpoint, whatever its message map
  endpoint: Endpoint<any>
  /** How long a document nobody uses stays open (a quick remount reuses it). Default 1000 ms. */
  releaseAfterMs?: number
  children?: ReactNode
}

/**
 * Makes an endpoint available to the hooks below it. Documents are opened once per id and
 * shared by every component that uses them; the provider closes each when its last user unmounts.
 *
 * @example
 * ```tsx
 * const endpoint = await Endpoint.start({ transport, join, leafStorage, waitForParent: false })
 * createRoot(el).render(<ZincProvider endpoint={endpoint}><Board /></ZincProvider>)
 * ```
 */
export function ZincProvider({ endpoint, releaseAfterMs, children }: ZincProviderProps): ReactNode {
  // A new endpoint (a new session) means new documents.
  const cache = useMemo(() => new DocumentCache(endpoint, releaseAfterMs), [endpoint, releaseAfterMs])
  return createElement(ZincContext.Provider, { value: cache }, children)
}

/** The provider's document cache; throws outside a ZincProvider. */
export function useZincCache(): DocumentCache {
  const cache = useContext(ZincContext)
  if (!cache) throw new Error('Zinc hooks need a <ZincProvider endpoint={…}> above them.')
  return cache
}

/** The endpoint of the nearest ZincProvider. */
// oxlint-disable-next-line no-explicit-any -- any endpoint, whatever its message map
export function useEndpoint(): Endpoint<any> {
  return useZincCache().endpoint
}
