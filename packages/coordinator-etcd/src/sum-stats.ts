import type { EndpointStats } from '@zinc/core'

/** Counters summed over shard endpoints (histograms and nested objects: the first one's). */
export function sumStats(all: EndpointStats[]): EndpointStats {
  const total = structuredClone(all[0]!)
  for (const s of all.slice(1)) {
    for (const [k, v] of Object.entries(s) as Array<[keyof EndpointStats, unknown]>) {
      if (typeof v === 'number' && typeof total[k] === 'number') (total as unknown as Record<string, number>)[k] = (total[k] as number) + v
    }
    Object.assign(total.docs, s.docs)
  }
  return total
}
