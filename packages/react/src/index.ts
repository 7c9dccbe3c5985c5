/**
 * @zinc/react — React bindings for Zinc: a provider, documents as typed state with `change`,
 * presence, and the connection status. Suspense-ready.
 */
export { ZincProvider, useEndpoint, type ZincProviderProps } from './provider.js'
export { useDocument, useSuspenseDocument, type UseDocumentOptions, type DocumentView, type SuspenseDocumentView } from './use-document.js'
export { usePresence, useOthers, type Other } from './use-presence.js'
export { useStatus, type ZincStatus } from './use-status.js'
export { shallowEqual, type Equality } from './select.js'
