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

/**
 * A shallow copy of a plain object, keys in their order (an own "__proto__" key stays a key).
 * `keys`: its own keys, when the caller knows them (see keysOf).
 */
export function copyRecord(v: Record<string, unknown>, copies: Copies = 'shape', keys: readonly string[] = Object.keys(v)): Record<string, unknown> {
  const copy: Record<string, unknown> = copies === 'table' && keys.length >= WIDE_RECORD ? dictionaryObject() : {}
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!
    // An own "__proto__" key (JSON.parse makes them) must stay a key, not become the prototype.
    if (k === '__proto__') Object.defineProperty(copy, k, { value: v[k], enumerable: true, writable: true, configurable: true })
    else copy[k] = v[k]
  }
  return copy
}

/**
 * The own keys of frozen wide records a pass copied, as Object.keys lists them.
 *
 * Object.keys of a dictionary-mode record sorts its entries anew each time (~11 µs for 400
 * keys, a third of the copy): a reader copies its wide record once per received batch (a
 * writer with changes in flight twice: its confirmed and its visible state), and
 * almost every batch replaces values without adding or removing a key. A pass that copied a
 * record and left its keys as they were hands the copy on with the very same list (see
 * draft-apply.ts), so the next copy need not ask. Only frozen records are kept (their keys
 * cannot change), weakly, and a list is shared by every state of an unchanged key set.
 */
const knownKeys = new WeakMap<object, readonly string[]>()

/** `v`'s own keys (Object.keys), from the list a pass left for it when there is one. Never write to it. */
export function keysOf(v: Record<string, unknown>): readonly string[] {
  return knownKeys.get(v) ?? Object.keys(v)
}

/**
 * Remembers `keys` as `record`'s own keys. The caller guarantees both: `record` is frozen, and
 * `keys` is what Object.keys(record) gives (same keys, same order) and is never written to.
 */
export function rememberKeys(record: object, keys: readonly string[]): void {
  knownKeys.set(record, keys)
}

/** Whether `record`'s keys are remembered (tests: the list is not asked for again). */
export function keysRemembered(record: object): boolean {
  return knownKeys.has(record)
}

/** An empty plain object that V8 keeps in dictionary mode (a property was deleted from it). */
function dictionaryObject(): Record<string, unknown> {
  const o: Record<string, unknown> = { zincWide: 0 }
  delete o.zincWide
  return o
}
