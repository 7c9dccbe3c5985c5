import { encodeJson } from '../protocol/json.js'
import { assembleSnapshot, snapshotFrame, type SnapshotHead, type SnapshotParts } from '../protocol/snapshot-message.js'
import { sameBytes } from '../runtime/bytes.js'

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

/**
 * The last SNAPSHOT message made of each large state. Late joiners of an unchanged document
 * (same seq, epoch, clientSeqs, presence) get these very bytes: no 50 MB allocation and copy
 * per joiner. Sending does not copy them either (zeromq.js sends a Buffer of more than 128
 * bytes in place), and nothing writes into a message once made.
 */
const lastMessages = new WeakMap<object, Uint8Array>()

const cacheable = (state: unknown): state is object => typeof state === 'object' && state !== null && Object.isFrozen(state)

/** `encodeJson(state)`, served from the cache while the state object is unchanged. */
export function encodeStateJson(state: unknown): Uint8Array {
  if (!cacheable(state)) return encodeJson(state)
  const cached = encodedStates.get(state)
  if (cached) return cached
  const bytes = encodeJson(state)
  if (bytes.byteLength >= CACHED_STATE_BYTES) encodedStates.set(state, bytes)
  return bytes
}

/**
 * The SNAPSHOT message of `state` (see protocol/snapshot-message.ts): the one made last time
 * when everything around the state is the same, else a new one. A large state's JSON then
 * lives once, inside its last message (the cache entry becomes a view of it), not twice.
 */
export function snapshotMessageOfState(state: unknown, head: SnapshotHead, parts: SnapshotParts): Uint8Array {
  const bytes = encodeStateJson(state)
  const frame = snapshotFrame(head, parts, bytes.byteLength)
  if (!cacheable(state) || bytes.byteLength < CACHED_STATE_BYTES) return assembleSnapshot(frame, bytes)
  const last = lastMessages.get(state)
  const { before, after } = frame
  if (
    last !== undefined &&
    last.byteLength === before.byteLength + bytes.byteLength + after.byteLength &&
    sameBytes(last.subarray(0, before.byteLength), before) &&
    sameBytes(last.subarray(last.byteLength - after.byteLength), after)
  )
    return last
  const message = assembleSnapshot(frame, bytes)
  lastMessages.set(state, message)
  encodedStates.set(state, message.subarray(before.byteLength, before.byteLength + bytes.byteLength))
  return message
}
