/**
 * A tiny seeded PRNG, so fault injection is reproducible: the same seed and the same sequence
 * of operations give the same fault decisions. Not for anything cryptographic.
 */

/** A function returning uniformly distributed numbers in [0, 1). */
export type Random = () => number

/** mulberry32: 32 bits of state, fast, good enough for simulations. */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Derives a 32-bit seed from a base seed and a key (FNV-1a). Each link gets its own stream,
 * so its decisions do not depend on how traffic on other links happens to interleave.
 */
export function deriveSeed(seed: number, key: string): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash
}
