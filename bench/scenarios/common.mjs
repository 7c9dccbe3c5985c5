import { spawnWorker, stopAll } from '../lib/proc.mjs'
import { sleep } from '../lib/worker.mjs'
import { median } from '../lib/stats.mjs'

export { spawnWorker, stopAll, sleep, median }

export const spawnMany = (n, name, args, opts) => Promise.all(Array.from({ length: n }, (_, i) => spawnWorker(name, typeof args === 'function' ? args(i) : args, opts)))

/** fragments/s between two marks of a counter field. */
export function rateBetween(m0, m1, field = 'count') {
  return (m1[field] - m0[field]) / ((m1.t - m0.t) / 1e6)
}

/** CPU use between two marks, in % of one core. */
export function cpuPct(m0, m1) {
  return (100 * (m1.cpuUs - m0.cpuUs)) / (m1.t - m0.t)
}

/** A table row. `better`: which direction is good for Zinc's figure. */
export function row(scenario, metric, unit, zinc, baseline, { baselineLabel = 'raw zmq', better = 'lower', target, note, ratio } = {}) {
  const r = ratio ?? (Number.isFinite(zinc) && Number.isFinite(baseline) && baseline !== 0 ? zinc / baseline : null)
  let meets = null
  if (target) {
    if (target.kind === 'ratio' && r !== null) meets = target.op === '>=' ? r >= target.value : r <= target.value
    if (target.kind === 'abs' && Number.isFinite(zinc)) meets = target.op === '>=' ? zinc >= target.value : zinc < target.value
  }
  return { scenario, metric, unit, zinc, baseline: baseline ?? null, baselineLabel, ratio: r, better, target: target ?? null, meets, note: note ?? null }
}

export function skipRow(scenario, metric, reason) {
  return { scenario, metric, unit: '', zinc: null, baseline: null, baselineLabel: '', ratio: null, better: 'lower', target: null, meets: null, note: reason, skipped: true }
}
