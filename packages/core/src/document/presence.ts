import type { EndpointId } from '../ids.js'

/**
 * Ephemeral per-endpoint values of one document (cursors, selections, names). Not sequenced,
 * not persisted, gone when the endpoint leaves or closes the document.
 */
export interface Presence<P = unknown> {
  /** Sets this endpoint's value (JSON-serialisable); `null` clears it. */
  set(value: P | null): void
  /** Every endpoint's current value, this one's included. */
  get(): ReadonlyMap<EndpointId, P>
  /** Called after every change of any endpoint's value; returns an unsubscribe function. */
  subscribe(listener: (presence: ReadonlyMap<EndpointId, P>) => void): () => void
}
