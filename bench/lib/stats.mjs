export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]
}

export function summarize(samples) {
  const s = Float64Array.from(samples).sort()
  return { n: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s.length ? s[s.length - 1] : NaN, min: s.length ? s[0] : NaN }
}

export function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return NaN
  const m = v.length >> 1
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2
}

/** A histogram of samples on log-spaced bins (for the SVG). */
export function histogram(samples, bins = 40) {
  const s = samples.filter((x) => x > 0)
  if (s.length === 0) return { edges: [], counts: [] }
  const lo = Math.log10(Math.min(...s.slice(0, 100000))),
    hi = Math.log10(Math.max(...s.slice(0, 100000)) * 1.0001)
  const edges = Array.from({ length: bins + 1 }, (_, i) => 10 ** (lo + ((hi - lo) * i) / bins))
  const counts = new Array(bins).fill(0)
  const w = (hi - lo) / bins || 1
  for (const x of s) counts[Math.min(bins - 1, Math.max(0, Math.floor((Math.log10(x) - lo) / w)))]++
  return { edges, counts }
}

/** Down-samples a large sample array (keeps the distribution shape, bounds JSON size). */
export function thin(samples, max = 4000) {
  if (samples.length <= max) return samples
  const s = Float64Array.from(samples).sort()
  return Array.from({ length: max }, (_, i) => s[Math.floor((i * (s.length - 1)) / (max - 1))])
}
