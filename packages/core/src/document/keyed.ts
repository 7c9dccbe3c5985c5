import type { Draft } from 'immer'

/**
 * A keyed collection laid out for immutable updates of wide documents.
 *
 * immer copies (and freezes) every object on a changed path, so a flat record of 10,000
 * shapes costs a 10,000-key copy per change (about 8 ms measured here). A `Keyed<T>` spreads
 * entries over a small tree of buckets chosen by a hash of the id — `LEVELS` levels of `FAN`
 * buckets each — so a change copies a few small objects instead. Measured on 10,000 entries
 * with immer 11 and auto-freeze: one flat level of 256 buckets ~140 µs per change, two levels
 * of 32 ~36 µs, three levels of 8 ~30 µs. Patch paths become `[...path, b, b, b, id, ...]`,
 * which sync, undo and the wire handle like any other path.
 *
 * Every bucket exists from `keyed.empty()` / `keyed.from()` on and is never removed. A bucket
 * created on demand would let two endpoints that insert different ids into the same new bucket
 * each send an `add` of the whole bucket, and the later one would replace the earlier one: two
 * confirmed changes, one lost. With a fixed skeleton every insert is an `add` of one id inside
 * an existing bucket, so concurrent inserts of different ids never touch the same path. The
 * skeleton costs 584 small objects (about 6 KB as JSON) per collection.
 *
 * ```ts
 * type Canvas = { shapes: Keyed<Shape> }
 * doc.change((d) => keyed.set(d.shapes, id, shape))
 * for (const shape of keyed.values(doc.state.shapes)) draw(shape)
 * ```
 */
export type Keyed<T> = { readonly [bucket: string]: Keyed<T> | T }

/** Levels of buckets, and buckets per level: 512 leaves, a few dozen entries each up to ~20k. */
export const LEVELS = 3
/** Buckets per level. */
export const FAN = 8

type Node<T> = Record<string, unknown> & { __leaf?: T }

/** FNV-1a: fast, stable across processes and browsers, a good enough spread for ids. */
function hash(id: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** The bucket keys of an id, outermost first. */
export function bucketPath(id: string): string[] {
  let h = hash(id)
  const path: string[] = []
  for (let level = 0; level < LEVELS; level++) {
    path.push(`b${h % FAN}`)
    h = Math.floor(h / FAN)
  }
  return path
}

function leafOf<T>(collection: Keyed<T>, id: string): Record<string, T> | undefined {
  let node = collection as Record<string, unknown> | undefined
  for (const key of bucketPath(id)) {
    node = node?.[key] as Record<string, unknown> | undefined
    if (node === undefined) return undefined
  }
  return node as Record<string, T>
}

const has = Object.prototype.hasOwnProperty

/**
 * Helpers for {@link Keyed} collections: read them from `doc.state`, write them inside
 * `doc.change` recipes.
 *
 * @example
 * ```ts
 * type Canvas = { shapes: Keyed<Shape> }
 * const doc = await endpoint.open<Canvas>('c', { initial: { shapes: keyed.empty() } })
 * doc.change((d) => keyed.set(d.shapes, id, shape))
 * for (const shape of keyed.values(doc.state.shapes)) draw(shape)
 * const { upserted, removed } = keyed.diff(previous, doc.state.shapes)
 * ```
 */
export const keyed = {
  /** A new empty collection (every bucket already there), for `initial` states. */
  empty<T>(): Keyed<T> {
    return skeleton(0) as Keyed<T>
  },

  /** The entry with this id, or undefined. */
  get<T>(collection: Keyed<T>, id: string): T | undefined {
    const leaf = leafOf(collection, id)
    return leaf && has.call(leaf, id) ? leaf[id] : undefined
  },

  /** Whether an entry with this id exists. */
  has<T>(collection: Keyed<T>, id: string): boolean {
    const leaf = leafOf(collection, id)
    return leaf !== undefined && has.call(leaf, id)
  },

  /**
   * Sets an entry inside a `doc.change` recipe. A bucket is created here only in a collection
   * that was not made by `keyed.empty()`/`keyed.from()` (and such a collection can lose one of
   * two concurrent inserts into the same new bucket; see the type's comment).
   */
  set<T>(draft: Draft<Keyed<T>>, id: string, value: T): void {
    let node = draft as Record<string, Record<string, unknown>>
    for (const key of bucketPath(id)) node = (node[key] ??= {}) as Record<string, Record<string, unknown>>
    ;(node as Record<string, unknown>)[id] = value
  },

  /**
   * Removes an entry inside a `doc.change` recipe. Buckets stay, even empty: removing one would
   * also remove whatever a concurrent change inserted into it.
   */
  delete<T>(draft: Draft<Keyed<T>>, id: string): boolean {
    const leaf = leafOf(draft as Keyed<unknown>, id) as Record<string, unknown> | undefined
    if (leaf === undefined || !has.call(leaf, id)) return false
    delete leaf[id]
    return true
  },

  /** The draft of one entry, to change it in place inside a recipe. */
  draftOf<T>(draft: Draft<Keyed<T>>, id: string): Draft<T> | undefined {
    const leaf = leafOf(draft as Keyed<unknown>, id) as Record<string, Draft<T>> | undefined
    return leaf && has.call(leaf, id) ? leaf[id] : undefined
  },

  /** The number of entries (walks every bucket). */
  size<T>(collection: Keyed<T>): number {
    let n = 0
    for (const _ of leaves(collection, 0)) n += Object.keys(_).length
    return n
  },

  /** Every `[id, value]`, in bucket order (not insertion order). */
  *entries<T>(collection: Keyed<T>): IterableIterator<[string, T]> {
    for (const leaf of leaves(collection, 0)) for (const id in leaf) yield [id, leaf[id] as T]
  },

  /** Every value, in bucket order. */
  *values<T>(collection: Keyed<T>): IterableIterator<T> {
    for (const leaf of leaves(collection, 0)) for (const id in leaf) yield leaf[id] as T
  },

  /** Builds a collection from plain entries (for seeding an initial state). */
  from<T>(entries: Iterable<readonly [string, T]>): Keyed<T> {
    const out = skeleton(0)
    for (const [id, value] of entries) {
      let node = out
      for (const key of bucketPath(id)) node = (node[key] ??= {}) as Record<string, unknown>
      node[id] = value
    }
    return out as Keyed<T>
  },

  /**
   * What changed between two versions of a collection, skipping every bucket that is the same
   * object in both (immutable updates share unchanged buckets), so a renderer pays for what
   * changed, not for the whole collection.
   */
  diff<T>(before: Keyed<T> | undefined, after: Keyed<T>): { upserted: Array<[string, T]>; removed: string[] } {
    const upserted: Array<[string, T]> = []
    const removed: string[] = []
    diffNode(before as Node<T> | undefined, after as Node<T>, 0, upserted, removed)
    return { upserted, removed }
  },
}

/** Every bucket of every level below `level`, empty. */
function skeleton(level: number): Record<string, unknown> {
  const node: Record<string, unknown> = {}
  if (level < LEVELS) for (let b = 0; b < FAN; b++) node[`b${b}`] = skeleton(level + 1)
  return node
}

function* leaves<T>(node: Keyed<T>, level: number): IterableIterator<Record<string, unknown>> {
  if (level === LEVELS) {
    yield node as Record<string, unknown>
    return
  }
  for (const key in node) yield* leaves(node[key] as Keyed<T>, level + 1)
}

function diffNode<T>(before: Node<T> | undefined, after: Node<T> | undefined, level: number, upserted: Array<[string, T]>, removed: string[]): void {
  if (before === after) return
  if (level === LEVELS) {
    if (after) for (const id in after) if (!before || !has.call(before, id) || before[id] !== after[id]) upserted.push([id, after[id] as T])
    if (before) for (const id in before) if (!after || !has.call(after, id)) removed.push(id)
    return
  }
  if (after) for (const key in after) diffNode(before && has.call(before, key) ? (before[key] as Node<T>) : undefined, after[key] as Node<T>, level + 1, upserted, removed)
  if (before) for (const key in before) if (!after || !has.call(after, key)) diffNode(before[key] as Node<T>, undefined, level + 1, upserted, removed)
}
