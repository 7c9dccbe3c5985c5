// (2) A change on client A applied on client B, at a steady rate, through the root; vs the
// raw forwarder path, and vs a raw ping-pong round trip.
import { summarize, thin } from '../lib/stats.mjs'
import { median, row, sleep, spawnWorker, stopAll } from './common.mjs'

const SIZE = 1024

/** Runs A → root → B at `rate`; returns latency samples (µs). Shared with the tree scenarios. */
export async function zincPath({ rate, durMs, warmMs, size = SIZE }) {
  const ws = []
  try {
    const root = await spawnWorker('zinc-root', {})
    ws.push(root)
    await root.call('open', { doc: 'lat', initial: { kind: 'empty' } })
    const join = root.info.addresses
    const [a, b] = await Promise.all([spawnWorker('zinc-client', { join }), spawnWorker('zinc-client', { join })])
    ws.push(a, b)
    await Promise.all([a.call('open', { doc: 'lat' }), b.call('open', { doc: 'lat' })])
    await b.call('listen', { mode: 'latency' })
    const recipe = { kind: 'slot', key: 'a', size }
    await a.call('rate', { recipe, rate, durationMs: warmMs })
    await b.call('reset')
    await a.call('rate', { recipe, rate, durationMs: durMs })
    await sleep(100)
    return await b.call('samples')
  } finally {
    await stopAll(ws)
  }
}

export async function rawPath({ rate, durMs, warmMs, size = SIZE }) {
  const ws = []
  try {
    const fwd = await spawnWorker('raw-forwarder', {})
    ws.push(fwd)
    const connect = fwd.info.addresses
    const [a, b] = await Promise.all([spawnWorker('raw-client', { connect }), spawnWorker('raw-client', { connect, subs: 1, push: false })])
    ws.push(a, b)
    await b.call('listen', { mode: 'latency' })
    await sleep(200)
    await a.call('rate', { size, rate, durationMs: warmMs })
    await sleep(50)
    await b.call('reset')
    await a.call('rate', { size, rate, durationMs: durMs })
    await sleep(100)
    return await b.call('samples')
  } finally {
    await stopAll(ws)
  }
}

async function pingPong({ n, size = SIZE }) {
  const ws = []
  try {
    const pong = await spawnWorker('raw-client', { role: 'pong' })
    ws.push(pong)
    const ping = await spawnWorker('raw-client', {})
    ws.push(ping)
    return await ping.call('ping', { target: pong.info.addresses, n, size })
  } finally {
    await stopAll(ws)
  }
}

export async function latency(ctx) {
  const cfg = ctx.smoke ? { rate: 1000, durMs: 500, warmMs: 200, pings: 200 } : { rate: 1000, durMs: 5000, warmMs: 1000, pings: 3000 }
  const z = [],
    r = [],
    p = []
  let last
  for (let rep = 1; rep <= ctx.reps; rep++) {
    ctx.progress(`latency: zinc A → root → B at ${cfg.rate}/s for ${cfg.durMs} ms, rep ${rep}/${ctx.reps}`)
    const zs = await zincPath(cfg)
    ctx.progress(`latency: raw A → forwarder → B, rep ${rep}/${ctx.reps}`)
    const rs = await rawPath(cfg)
    ctx.progress(`latency: raw ping-pong × ${cfg.pings}, rep ${rep}/${ctx.reps}`)
    const ps = await pingPong({ n: cfg.pings })
    ;(z.push(summarize(zs)), r.push(summarize(rs)), p.push(summarize(ps)))
    last = { zinc: thin(zs), raw: thin(rs), pingpong: thin(ps) }
  }
  const m = (a, k) => median(a.map((x) => x[k]))
  const name = `latency (A→root→B, ${cfg.rate}/s, 1 KB)`
  const rows = [
    row(name, 'p50', 'µs', m(z, 'p50'), m(r, 'p50'), { baselineLabel: 'raw forwarder', target: { kind: 'ratio', op: '<=', value: 1.5 } }),
    row(name, 'p99', 'µs', m(z, 'p99'), m(r, 'p99'), { baselineLabel: 'raw forwarder', target: { kind: 'ratio', op: '<=', value: 2 } }),
    row(name, 'max', 'µs', m(z, 'max'), m(r, 'max'), { baselineLabel: 'raw forwarder' }),
    row(name, 'p50 vs raw ping-pong RTT', 'µs', m(z, 'p50'), m(p, 'p50'), { baselineLabel: 'raw ping-pong RTT' }),
    row(name, 'p99 vs raw ping-pong RTT', 'µs', m(z, 'p99'), m(p, 'p99'), { baselineLabel: 'raw ping-pong RTT' }),
    row(name, 'samples received (of sent)', 'msgs', m(z, 'n'), m(r, 'n'), { baselineLabel: 'raw forwarder', better: 'higher', note: `${Math.round((cfg.rate * cfg.durMs) / 1000)} sent per run` }),
  ]
  return { rows, data: { config: cfg, zinc: z, raw: r, pingpong: p, distributions: last } }
}
