import type { Draft } from 'immer'

/**
 * A keyed collection laid out for immutable updates of wide documents.
 *
 * immer copies every object on a changed path, so a flat record of 10,000 shapes costs a
 * 10,000-key copy per change (about 8 ms measured here). A `Keyed<T>` spreads entries over
 * `BUCKETS` buckets by a hash of the id, so a change copies one bucket (tens of entries) and
 * the bucket index instead. Patch paths become `[...path, bucket, id, ...]`, which sync,
 * undo and the wire handle like any other.
 *
 * ```ts
 * type Canvas = { shapes: Keyed<Shape> }
 * doc.change((d) => keyed.set(d.shapes, id, shape))
 * for (const shape of keyed.values(doc.state.shapes)) draw(shape)
 * ```
 */
export type Keyed<T> = { readonly [bucket: string]: { readonly [id: string]: T } }

/** Buckets per collection; 256 keeps both levels small up to ~100k entries. */
export const BUCKETS = 256

/** FNV-1a: fast, stable across processes and browsers, good enough spread for ids. */
export function bucketOf(id: string): string {
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return `b${(h >>> 0) % BUCKETS}`
}

export const keyed = {
  /** A new empty collection, for `initial` states. */
  empty<T>(): Keyed<T> {
    return {}
  },

  get<T>(collection: Keyed<T>, id: string): T | undefined {
    return collection[bucketOf(id)]?.[id]
  },

  has<T>(collection: Keyed<T>, id: string): boolean {
    const bucket = collection[bucketOf(id)]
    return bucket !== undefined && Object.prototype.hasOwnProperty.call(bucket, id)
  },

  /** Sets an entry inside a `doc.change` recipe. */
  set<T>(draft: Draft<Keyed<T>>, id: string, value: T): void {
    const b = bucketOf(id)
    const buckets = draft as Record<string, Record<string, T>>
    const bucket = buckets[b]
    if (bucket) bucket[id] = value
    else buckets[b] = { [id]: value }
  },

  /** Removes an entry inside a `doc.change` recipe; empty buckets go too. */
  delete<T>(draft: Draft<Keyed<T>>, id: string): boolean {
    const b = bucketOf(id)
    const buckets = draft as Record<string, Record<string, T>>
    const bucket = buckets[b]
    if (!bucket || !Object.prototype.hasOwnProperty.call(bucket, id)) return false
    delete bucket[id]
    if (Object.keys(bucket).length === 0) delete buckets[b]
    return true
  },

  /** The draft of one entry, to change it in place inside a recipe. */
  draftOf<T>(draft: Draft<Keyed<T>>, id: string): Draft<T> | undefined {
    return (draft as Record<string, Record<string, Draft<T>>>)[bucketOf(id)]?.[id]
  },

  size<T>(collection: Keyed<T>): number {
    let n = 0
    for (const b in collection) n += Object.keys(collection[b]!).length
    return n
  },

  *entries<T>(collection: Keyed<T>): IterableIterator<[string, T]> {
    for (const b in collection) {
      const bucket = collection[b]!
      for (const id in bucket) yield [id, bucket[id]!]
    }
  },

  *values<T>(collection: Keyed<T>): IterableIterator<T> {
    for (const b in collection) {
      const bucket = collection[b]!
      for (const id in bucket) yield bucket[id]!
    }
  },

  /** Builds a collection from plain entries (for seeding an initial state). */
  from<T>(entries: Iterable<readonly [string, T]>): Keyed<T> {
    const out: Record<string, Record<string, T>> = {}
    for (const [id, value] of entries) (out[bucketOf(id)] ??= {})[id] = value
    return out
  },
}
