/**
 * A fixed-bucket latency histogram (milliseconds), cheap enough to record every handled
 * message. `counts[i]` counts values <= buckets[i] and above the previous bound; the last
 * entry counts values above every bound. Shaped for Prometheus export.
 */
export interface Histogram {
  readonly buckets: readonly number[]
  readonly counts: number[]
  sum: number
  count: number
}

/** Upper bounds (ms) of the handler latency histogram buckets. */
export const LATENCY_BUCKETS_MS: readonly number[] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 1000]

export function emptyHistogram(buckets: readonly number[] = LATENCY_BUCKETS_MS): Histogram {
  return { buckets, counts: new Array<number>(buckets.length + 1).fill(0), sum: 0, count: 0 }
}

export function record(h: Histogram, value: number): void {
  let i = 0
  while (i < h.buckets.length && value > h.buckets[i]!) i++
  h.counts[i]!++
  h.sum += value
  h.count++
}
