import { encodeJson } from '../protocol/json.js'

/**
 * States at least this large keep their encoded JSON: below it, encoding is cheap and keeping
 * the bytes would only cost memory.
 */
export const CACHED_STATE_BYTES = 64 * 1024

/**
 * The encoded JSON of recent large states, keyed by the state object itself. Replica states
 * are deep-frozen and every change makes a new root object, so the same object always encodes
 * to the same bytes: many late joiners of an unchanged document cost one JSON.stringify, not
 * one each. A WeakMap lets an entry go with its state (nothing to invalidate by hand).
 */
const encodedStates = new WeakMap<object, Uint8Array>()

/** `encodeJson(state)`, served from the cache while the state object is unchanged. */
export function encodeStateJson(state: unknown): Uint8Array {
  if (typeof state !== 'object' || state === null || !Object.isFrozen(state)) return encodeJson(state)
  const cached = encodedStates.get(state)
  if (cached) return cached
  const bytes = encodeJson(state)
  if (bytes.byteLength >= CACHED_STATE_BYTES) encodedStates.set(state, bytes)
  return bytes
}
