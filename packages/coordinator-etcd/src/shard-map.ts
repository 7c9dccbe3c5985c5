/**
 * Which shard a document is in, and which live host leads each shard. Pure functions of their
 * inputs, so every host and every forest computes the same answer from the same live set.
 */

/** 32-bit FNV-1a of the UTF-16 code units, then murmur3's finaliser (FNV alone mixes poorly in the high bits). */
export function hash32(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** The shard of document `doc` among `shards` (0 … shards-1). */
export function shardOf(doc: string, shards: number): number {
  return hash32(doc) % shards
}

/**
 * The leader of every shard: rendezvous (highest-random-weight) hashing over the live hosts,
 * with bounded loads. Each shard, in order, takes the first host of its own ranking that still
 * has room (every host leads ⌊shards/hosts⌋ or ⌈shards/hosts⌉). Plain rendezvous moves the fewest shards when a host joins
 * or dies, but spreads them only as evenly as chance allows (±30 % at 3 hosts and 30 shards);
 * the bound keeps every host within one shard of even, and still moves few: a shard changes
 * host only when its own first choices changed or filled up.
 */
export function assignShards(shards: number, hosts: readonly string[]): string[] {
  const live = [...new Set(hosts)].sort()
  if (live.length === 0) return []
  // Exactly `shards % hosts` hosts lead ⌈shards/hosts⌉, the others ⌊shards/hosts⌋: the
  // capacities add up to `shards`, so some host always has room.
  const floor = Math.floor(shards / live.length)
  let ceilsLeft = shards % live.length
  const load = new Map<string, number>(live.map((h) => [h, 0]))
  const room = (host: string) => load.get(host)! < floor || (load.get(host)! === floor && ceilsLeft > 0)
  const owners: string[] = []
  for (let shard = 0; shard < shards; shard++) {
    const ranked = live.map((host) => ({ host, weight: hash32(`${shard}\u0000${host}`) })).sort((a, b) => b.weight - a.weight || (a.host < b.host ? -1 : 1))
    const owner = ranked.find((r) => room(r.host))!.host
    if (load.get(owner) === floor) ceilsLeft--
    load.set(owner, load.get(owner)! + 1)
    owners.push(owner)
  }
  return owners
}
