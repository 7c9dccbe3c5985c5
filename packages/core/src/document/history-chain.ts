import type { EndpointId } from '../ids.js'

/**
 * A fingerprint of a document's whole sequenced history: each fragment's (seq, origin,
 * clientSeq) folded into the fingerprint of everything before it. Two replicas with the same
 * fingerprint at a seq hold the same fragments up to it, in the same order.
 *
 * Why: a stale root (paused, or cut off) can sequence fragments that the tree which went on
 * without it never had, then re-join that tree. Comparing only the fragment at the re-joiner's
 * seq missed a difference further back (the same change sequenced at the same seq by both
 * roots, after different ones), so it caught up on top of a history it did not share and kept
 * a different state at an equal seq. The fingerprint tells them apart at any depth.
 *
 * 52 bits (two 32-bit FNV-style lanes, exact in a double, carried as one protobuf double):
 * plain JavaScript, so the browser bundle needs no crypto, and about 40 ns per fragment.
 * Not a defence against a hostile peer (the trust boundary is elsewhere), only against
 * accidental divergence, where a collision chance of 2^-52 per comparison is nothing.
 */
export type HistoryChain = number

/** The fingerprint of an empty history (seq 0). Never 0: 0 on the wire means "unknown". */
export const EMPTY_HISTORY: HistoryChain = 0x5a1ce

const originHashes = new Map<string, number>()

function hashOrigin(origin: EndpointId): number {
  let h = originHashes.get(origin)
  if (h === undefined) {
    h = 0x811c9dc5
    for (let i = 0; i < origin.length; i++) h = Math.imul(h ^ origin.charCodeAt(i), 0x01000193)
    h >>>= 0
    // Endpoint ids are few per process; a bound keeps a long-lived relay's map small anyway.
    if (originHashes.size > 65_536) originHashes.clear()
    originHashes.set(origin, h)
  }
  return h
}

/** The fingerprint after appending one fragment to a history whose fingerprint is `prev`. */
export function nextHistory(prev: HistoryChain, seq: number, origin: EndpointId, clientSeq: number): HistoryChain {
  const lo0 = prev % 0x100000000
  const hi0 = Math.floor(prev / 0x100000000)
  const o = hashOrigin(origin)
  let lo = Math.imul(lo0 ^ o, 0x01000193) ^ seq
  lo = Math.imul(lo ^ clientSeq, 0x85ebca6b) >>> 0
  let hi = Math.imul(hi0 ^ (o >>> 7) ^ lo, 0xc2b2ae35) ^ (seq * 31 + clientSeq)
  hi = (Math.imul(hi ^ (hi >>> 13), 0x27d4eb2f) >>> 0) & 0xfffff
  const next = hi * 0x100000000 + lo
  return next === 0 ? EMPTY_HISTORY : next
}
