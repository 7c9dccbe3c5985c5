/**
 * Shallow copies of plain objects, as every change to a state makes of each record on its path.
 *
 * A wide record (a map of 400 shapes keyed by id) is copied once per applied run and once per
 * local change: at a reader that copy was about a third of its CPU per received change (issue
 * 17). How V8 lays the copy out decides what it costs. Built key by key into a plain `{}` (or
 * by immer's spread), the copy gets "fast" properties: each key added extends a hidden class
 * and its property store, which for hundreds of keys costs far more than the keys themselves
 * (a 400-key record: ~60 µs in a micro-benchmark, 120 µs and more inside a reader). Started in
 * dictionary mode, the copy is a hash table filled once (~27 µs), and reading a key of it is
 * cheaper too. V8 keeps an object in dictionary mode once a property was deleted from it, so
 * the copy starts as an object with one property that is deleted at once.
 *
 * The cost moves elsewhere, so the caller chooses (`Copies`): `Object.keys` of a dictionary-mode
 * record is ~10 µs where a fast one answers from a cache, and immer's spread of one is ~2× slower
 * than of a fast one. A writer's visible state (immer copies it on every local change, and the
 * change's diff lists its keys) keeps fast copies; confirmed states (a reader's, a root's)
 * take dictionary-mode ones.
 *
 * Either result is an ordinary object (same prototype, same own keys in the same order): only
 * V8's internal layout differs, never what JavaScript can observe.
 */

/**
 * How a pass copies wide records: `table` in dictionary mode (confirmed states: cheapest to copy
 * and to read a key of), `shape` with fast properties (a visible state that immer copies next).
 */
export type Copies = 'table' | 'shape'

/** From this many keys on, a record is copied in dictionary mode when asked for `table`. */
export const WIDE_RECORD = 32

/** A shallow copy of a plain object, keys in their order (an own "__proto__" key stays a key). */
export function copyRecord(v: Record<string, unknown>, copies: Copies = 'shape'): Record<string, unknown> {
  const keys = Object.keys(v)
  const copy: Record<string, unknown> = copies === 'table' && keys.length >= WIDE_RECORD ? dictionaryObject() : {}
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!
    // An own "__proto__" key (JSON.parse makes them) must stay a key, not become the prototype.
    if (k === '__proto__') Object.defineProperty(copy, k, { value: v[k], enumerable: true, writable: true, configurable: true })
    else copy[k] = v[k]
  }
  return copy
}

/** An empty plain object that V8 keeps in dictionary mode (a property was deleted from it). */
function dictionaryObject(): Record<string, unknown> {
  const o: Record<string, unknown> = { zincWide: 0 }
  delete o.zincWide
  return o
}
