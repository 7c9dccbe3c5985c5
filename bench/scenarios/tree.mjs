// (4) Fan-out (1..256 subscribers) and tree depth (1..4 levels): end-to-end latency at a
// steady rate, and the root's CPU. Many subscribers share a process when they would not fit
// in processes of their own; the raw baseline uses the same split.
import { availableParallelism } from 'node:os'
import { summarize, thin } from '../lib/stats.mjs'
import { cpuPct, median, row, sleep, spawnWorker, stopAll } from './common.mjs'

const SIZE = 1024
const cores = availableParallelism()

/**
 * One run: a root (or raw forwarder), `depth - 1` relays in a chain below it, a producer and
 * `subs` subscriber endpoints (split over `procs` processes) below the deepest node.
 */
async function run(kind, { subs, procs, depth, rate, durMs, warmMs, progress, idleMs = Math.min(durMs, 1000) }) {
  const ws = []
  const t0 = performance.now()
  try {
    const zinc = kind === 'zinc'
    const root = await spawnWorker(zinc ? 'zinc-root' : 'raw-forwarder', {})
    ws.push(root)
    if (zinc) await root.call('open', { doc: 't', initial: { kind: 'empty' } })
    let parent = root.info.addresses
    const relays = []
    for (let d = 1; d < depth; d++) {
      const relay = await spawnWorker(zinc ? 'zinc-client' : 'raw-forwarder', zinc ? { join: parent, bind: true } : { parent })
      ws.push(relay)
      relays.push(relay)
      parent = relay.info.addresses
    }
    const split = Array.from({ length: procs }, (_, i) => Math.floor(subs / procs) + (i < subs % procs ? 1 : 0)).filter((n) => n > 0)
    const [prod, ...subWs] = await Promise.all([
      spawnWorker(zinc ? 'zinc-client' : 'raw-client', zinc ? { join: parent } : { connect: parent }),
      ...split.map((n) => spawnWorker(zinc ? 'zinc-client' : 'raw-client', zinc ? { join: parent, count: n } : { connect: parent, subs: n, push: false }, { readyTimeoutMs: 300_000 })),
    ])
    ws.push(prod, ...subWs)
    const joinedMs = performance.now() - t0
    if (subs >= 64) progress?.(`  ${kind}: ${subs} subscribers joined after ${(joinedMs / 1000).toFixed(1)} s`)
    if (zinc) await Promise.all([prod, ...subWs].map((w) => w.call('open', { doc: 't' }, 300_000)))
    const setupMs = performance.now() - t0
    if (subs >= 64) progress?.(`  ${kind}: ${subs} subscribers ${zinc ? 'opened the document' : 'subscribed'} after ${(setupMs / 1000).toFixed(1)} s`)
    await Promise.all(subWs.map((w) => w.call('listen', { mode: 'latency', cap: 200_000 })))
    // Where the time goes: when each fragment is in the root's state and in each relay's (a
    // relay holds a replica of every document opened through it; a handle here only listens).
    const hops = zinc ? [root, ...relays] : []
    if (zinc) {
      await root.call('listen', { doc: 't' })
      for (const r of relays) {
        await r.call('open', { doc: 't' })
        await r.call('listen', { mode: 'latency' })
      }
    }
    // Many endpoints: let the join-time roster traffic drain before measuring steady state.
    await sleep(subs >= 64 ? 3000 : zinc ? 100 : 300)
    const go = (ms) => prod.call('rate', zinc ? { recipe: { kind: 'slot', key: 'p', size: SIZE }, rate, durationMs: ms } : { size: SIZE, rate, durationMs: ms })
    await go(warmMs)
    await sleep(50)
    await Promise.all([...subWs, ...hops].map((w) => w.call('reset')))
    // CPU of every process of the run over the measured window: per fragment per replica, and
    // how much of the machine the run took (saturation, against what Zinc itself costs).
    // The same processes idle for a second first: what each spends with no traffic (heartbeats,
    // timers, the harness) is taken out, so "per fragment" is what a fragment costs.
    const all = [root, ...relays, prod, ...subWs]
    const i0 = await Promise.all(all.map((w) => w.call('mark')))
    await sleep(idleMs)
    const m0 = await Promise.all(all.map((w) => w.call('mark')))
    await go(durMs)
    await sleep(100)
    const m1 = await Promise.all(all.map((w) => w.call('mark')))
    const idleRate = (i) => (m0[i].cpuUs - i0[i].cpuUs) / (m0[i].t - i0[i].t)
    const cpu = (w) => {
      const i = all.indexOf(w)
      return Math.max(0, m1[i].cpuUs - m0[i].cpuUs - idleRate(i) * (m1[i].t - m0[i].t))
    }
    const samples = (await Promise.all(subWs.map((w) => w.call('samples')))).flat()
    const sent = (rate * durMs) / 1000
    const wallUs = m1[0].t - m0[0].t
    const hopP50 = []
    for (const w of hops) hopP50.push(summarize(await w.call('samples')).p50)
    return {
      ...summarize(samples),
      setupMs,
      rootCpu: cpuPct(m0[0], m1[0]),
      delivered: samples.length / sent / subs,
      dist: thin(samples, 1500),
      subCpuPerFrag: subWs.reduce((n, w) => n + cpu(w), 0) / Math.max(1, samples.length),
      relayCpuPerFrag: relays.map((w) => cpu(w) / sent),
      rootCpuPerFrag: cpu(root) / sent,
      machineBusy: (100 * all.reduce((n, w, i) => n + m1[i].cpuUs - m0[i].cpuUs, 0)) / wallUs / cores,
      hopP50,
    }
  } finally {
    await stopAll(ws)
  }
}

async function sweep(ctx, label, points, cfgOf) {
  const rows = []
  const series = { zinc: [], raw: [] }
  const reps = ctx.smoke ? 1 : Math.max(1, Math.min(ctx.reps, 2))
  for (const x of points) {
    const cfg = { ...cfgOf(x), progress: ctx.progress }
    const z = [],
      r = []
    for (let rep = 1; rep <= reps; rep++) {
      ctx.progress(`${label}: ${x} — zinc, ${cfg.subs} subscriber(s) in ${Math.min(cfg.procs, cfg.subs)} process(es), depth ${cfg.depth}, ${cfg.rate}/s, rep ${rep}/${reps}`)
      z.push(await run('zinc', cfg))
      ctx.progress(`${label}: ${x} — raw, rep ${rep}/${reps}`)
      r.push(await run('raw', cfg))
    }
    const m = (a, k) => median(a.map((v) => v[k]))
    const name = `${label} = ${x} (${cfg.rate}/s, 1 KB)`
    rows.push(
      row(name, 'end-to-end p50', 'µs', m(z, 'p50'), m(r, 'p50'), { baselineLabel: 'raw forwarder' }),
      row(name, 'end-to-end p99', 'µs', m(z, 'p99'), m(r, 'p99'), { baselineLabel: 'raw forwarder' }),
      row(name, 'root CPU', '% core', m(z, 'rootCpu'), m(r, 'rootCpu'), { baselineLabel: 'raw forwarder' }),
      row(name, 'delivered fraction', 'ratio', m(z, 'delivered'), m(r, 'delivered'), { baselineLabel: 'raw forwarder', better: 'higher' }),
    )
    if (label === 'fan-out') rows.push(row(name, 'setup: spawn, join and open every subscriber', 'ms', m(z, 'setupMs'), m(r, 'setupMs'), { baselineLabel: 'raw: spawn, connect, subscribe' }))
    // The breakdown of issue 17 ("fan-out 256 and depth 4 are understood"): CPU per fragment in
    // each replica, how busy the whole machine was, and when a fragment reached each hop.
    rows.push(
      row(name, 'subscriber CPU per fragment per replica (idle CPU taken out)', 'µs', m(z, 'subCpuPerFrag'), m(r, 'subCpuPerFrag'), { baselineLabel: 'raw SUB' }),
      row(name, "the run's processes: CPU, share of all cores", '%', m(z, 'machineBusy'), m(r, 'machineBusy'), { baselineLabel: 'raw' }),
      row(name, 'root CPU per fragment (idle CPU taken out)', 'µs', m(z, 'rootCpuPerFrag'), m(r, 'rootCpuPerFrag'), { baselineLabel: 'raw forwarder' }),
    )
    const hopNames = (n) => ['the root', ...Array.from({ length: n - 1 }, (_, i) => `relay ${i + 1}`)]
    hopNames(z[0].hopP50.length).forEach((hop, i) => {
      rows.push(row(name, `in ${hop}'s state, p50 after the change`, 'µs', median(z.map((v) => v.hopP50[i])), undefined, { baselineLabel: '—' }))
      if (i > 0)
        rows.push(
          row(name, `relay ${i} CPU per fragment (idle CPU taken out)`, 'µs', median(z.map((v) => v.relayCpuPerFrag[i - 1])), median(r.map((v) => v.relayCpuPerFrag[i - 1])), {
            baselineLabel: 'raw forwarder',
          }),
        )
    })
    const pick = (a) => ({ x, p50: m(a, 'p50'), p99: m(a, 'p99'), rootCpu: m(a, 'rootCpu'), dist: a[a.length - 1].dist })
    series.zinc.push(pick(z))
    series.raw.push(pick(r))
  }
  return { rows, data: { series } }
}

export function fanout(ctx) {
  const points = ctx.smoke ? [1, 2] : [1, 8, 64, 256]
  return sweep(ctx, 'fan-out', points, (n) => ({
    subs: n,
    procs: n <= 8 ? n : 4,
    depth: 1,
    rate: 100,
    durMs: ctx.smoke ? 300 : 3000,
    warmMs: ctx.smoke ? 100 : 500,
  }))
}

export function depth(ctx) {
  const points = ctx.smoke ? [1, 2] : [1, 2, 3, 4]
  return sweep(ctx, 'depth', points, (d) => ({ subs: 1, procs: 1, depth: d, rate: ctx.smoke ? 200 : 500, durMs: ctx.smoke ? 300 : 3000, warmMs: ctx.smoke ? 100 : 500 }))
}
