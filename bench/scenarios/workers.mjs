// (10) MessageHandler worker pools (issue 20): a CPU-heavy application handler — 20 ms of
// computation per 'render' message, 40 messages/s (0.8 of a core) — run inline on the root's
// thread against the same function in the root's worker pool (`handle(kind, { worker })`,
// default threads: cores − 1). Meanwhile a client edits another document and times each change
// until the root confirms it, and watches the root's heartbeats. Figures: the root's event-loop
// delay (p99, max: how late its timers, heartbeats among them, fire), the other document's
// change → confirmed latency (p50, p99), the largest gap between heartbeats (period 250 ms),
// and each render's latency from publish to done. A run without renders is the reference.
import { median, row, spawnWorker, stopAll } from './common.mjs'
import { summarize } from '../lib/stats.mjs'
import { sleep } from '../lib/worker.mjs'

const MODES = ['none', 'inline', 'worker']

async function once(mode, { seconds, rate, probeHz }) {
  const root = await spawnWorker('zinc-render-root', { mode })
  const client = await spawnWorker('zinc-render-client', { join: root.info.addresses })
  try {
    await root.call('start')
    const out = await client.call('run', { rate, seconds, probeHz }, (seconds + 120) * 1000)
    // Renders still queued when publishing stops finish before the root's figures are read.
    const want = mode === 'none' ? 0 : out.published
    const deadline = Date.now() + 60_000
    while ((await root.call('rendered')) < want && Date.now() < deadline) await sleep(50)
    const r = await root.call('finish')
    const confirm = summarize(out.confirmMs)
    const gaps = summarize(out.beatGapsMs)
    const renders = summarize(r.renderMs)
    return {
      mode,
      published: out.published,
      rendered: r.renderMs.length,
      loopP99: r.loopP99Ms,
      loopMax: r.loopMaxMs,
      confirmP50: confirm.p50,
      confirmP90: confirm.p90,
      confirmP99: confirm.p99,
      confirmMax: confirm.max,
      beatGapMax: gaps.max,
      renderP50: renders.p50,
      renderP99: renders.p99,
      handlerErrors: r.handlerErrors,
    }
  } finally {
    await stopAll([client, root])
  }
}

export async function workers(ctx) {
  const cfg = ctx.smoke ? { seconds: 1, rate: 20, probeHz: 20 } : { seconds: 8, rate: 40, probeHz: 50 }
  const runs = []
  for (let rep = 0; rep < ctx.reps; rep++) {
    for (const mode of MODES) {
      ctx.progress(`workers: ${mode}, ${cfg.rate} renders/s × 20 ms for ${cfg.seconds} s (rep ${rep + 1}/${ctx.reps})`)
      const r = await once(mode, cfg)
      ctx.progress(
        `  loop delay p99 ${r.loopP99.toFixed(1)} ms max ${r.loopMax.toFixed(1)} ms; other doc p50 ${r.confirmP50.toFixed(1)} p99 ${r.confirmP99.toFixed(1)} ms; heartbeat gap max ${r.beatGapMax.toFixed(0)} ms; renders ${r.rendered}/${r.published} p50 ${r.renderP50?.toFixed?.(1)} ms`,
      )
      runs.push(r)
    }
  }
  const med = (mode, key) => median(runs.filter((r) => r.mode === mode).map((r) => r[key]))
  const pair = (metric, key, note) => row('workers', metric, 'ms', med('worker', key), med('inline', key), { baselineLabel: 'inline', note: `${note}; no renders: ${med('none', key).toFixed(1)} ms` })
  const rows = [
    pair('root event-loop delay p99 while rendering (worker pool vs inline)', 'loopP99', "how late the root's timers fire"),
    pair('root event-loop delay max while rendering', 'loopMax', 'the worst timer lateness'),
    pair('other document change → confirmed p50', 'confirmP50', 'a client edits another document meanwhile'),
    pair('other document change → confirmed p90', 'confirmP90', 'a client edits another document meanwhile'),
    pair('other document change → confirmed p99', 'confirmP99', 'a client edits another document meanwhile'),
    pair("largest gap between the root's heartbeats (period 250 ms)", 'beatGapMax', 'seen by the client'),
    row('workers', 'render latency p50, publish → done', 'ms', med('worker', 'renderP50'), med('inline', 'renderP50'), { baselineLabel: 'inline', note: '20 ms of work each' }),
  ]
  return { config: cfg, runs, rows }
}
