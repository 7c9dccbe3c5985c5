// (3) Wide documents: a 10,000-shape canvas, flat Record<id, shape> (before) vs the keyed
// layout of @zinc/core (after).
import { median, rateBetween, row, sleep, spawnMany, spawnWorker, stopAll } from './common.mjs'
import { summarize } from '../lib/stats.mjs'

const RAW_SIZE = 96 // bytes of one wide-doc fragment payload (a single `x` replace), for the raw baseline

async function measure(layout, { n, P, warmMs, durMs, timedN, window }) {
  const ws = []
  try {
    const root = await spawnWorker('zinc-root', {})
    ws.push(root)
    await root.call('open', { doc: 'canvas', initial: { kind: 'wide', layout, n } })
    const join = root.info.addresses
    const [recv, ...prods] = await spawnMany(P + 1, 'zinc-client', { join })
    ws.push(recv, ...prods)
    await Promise.all([recv, ...prods].map((w) => w.call('open', { doc: 'canvas' })))
    await recv.call('listen', { mode: 'count' })
    const recipe = { kind: 'wide', layout, n }
    // Local change cost, measured while the system is otherwise idle: one change at a time.
    const timedChanges = async () => {
      await prods[0].call('flood', { recipe, window: 20, burst: 1, time: true })
      await sleep(Math.max(300, timedN * (layout === 'flat' ? 12 : 0.5)))
      const { changeUs } = await prods[0].call('halt')
      await sleep(200)
      return changeUs
    }
    // First, in a fresh process: its first changes run before V8 has optimised the path (cold).
    const cold = await timedChanges()
    // Sustained: P producers flood, the receiver applies batches.
    await Promise.all(prods.map((w) => w.call('flood', { recipe, window })))
    await sleep(warmMs)
    const [r0, b0] = await Promise.all([root.call('mark'), recv.call('mark')])
    await sleep(durMs)
    const [r1, b1] = await Promise.all([root.call('mark'), recv.call('mark')])
    await Promise.all(prods.map((w) => w.call('halt')))
    await sleep(200)
    // Again once the sustained phase has run the path thousands of times (warm): what every
    // change costs in a session that has been editing for a few seconds.
    const warm = await timedChanges()
    const frags = b1.count - b0.count
    return {
      localUs: summarize(warm.slice(5)).p50,
      localN: warm.length,
      localColdUs: summarize(cold.slice(5)).p50,
      localColdN: cold.length,
      remoteUs: frags > 0 ? (b1.cpuUs - b0.cpuUs) / frags : NaN,
      recvBatch: frags / Math.max(1, b1.events - b0.events),
      rootRate: rateBetween(r0, r1, 'sequenced'),
      recvRate: rateBetween(b0, b1),
    }
  } finally {
    await stopAll(ws)
  }
}

async function rawSustain({ P, warmMs, durMs }) {
  const ws = []
  try {
    const fwd = await spawnWorker('raw-forwarder', {})
    ws.push(fwd)
    const connect = fwd.info.addresses
    const [recv, ...prods] = await Promise.all([spawnWorker('raw-client', { connect, subs: 1, push: false }), ...Array.from({ length: P }, () => spawnWorker('raw-client', { connect }))])
    ws.push(recv, ...prods)
    await recv.call('listen', { mode: 'count' })
    await sleep(200)
    await Promise.all(prods.map((w) => w.call('flood', { size: RAW_SIZE })))
    await sleep(warmMs)
    const [r0, b0] = await Promise.all([fwd.call('mark'), recv.call('mark')])
    await sleep(durMs)
    const [r1, b1] = await Promise.all([fwd.call('mark'), recv.call('mark')])
    await Promise.all(prods.map((w) => w.call('halt')))
    return { rootRate: rateBetween(r0, r1, 'sequenced'), remoteUs: (b1.cpuUs - b0.cpuUs) / Math.max(1, b1.count - b0.count) }
  } finally {
    await stopAll(ws)
  }
}

export async function wide(ctx) {
  // Smoke: 1,000 shapes, so the flat layout's initial document and its copies stay cheap (seconds, not tens).
  const cfg = ctx.smoke ? { n: 1_000, P: 1, warmMs: 200, durMs: 400, timedN: 20, window: 50 } : { n: 10_000, P: 2, warmMs: 1500, durMs: 4000, timedN: 200, window: 200 }
  const res = { flat: [], keyed: [], raw: [] }
  for (let rep = 1; rep <= ctx.reps; rep++) {
    for (const layout of ['flat', 'keyed']) {
      ctx.progress(`wide: ${cfg.n}-shape canvas, ${layout} layout, ${cfg.P} producers → root → 1 receiver, rep ${rep}/${ctx.reps}`)
      res[layout].push(await measure(layout, cfg))
    }
    ctx.progress(`wide: raw forwarder with ${RAW_SIZE} B messages, rep ${rep}/${ctx.reps}`)
    res.raw.push(await rawSustain(cfg))
  }
  const m = (a, k) => median(a.map((x) => x[k]))
  const rows = []
  for (const layout of ['flat', 'keyed']) {
    const name = `wide doc (${cfg.n} shapes, ${layout === 'flat' ? 'flat Record — before' : 'keyed — after'})`
    const z = res[layout]
    rows.push(
      row(name, 'local change (change → fragment encoded), p50, warm', 'µs', m(z, 'localUs'), 200, { baselineLabel: 'target', target: { kind: 'abs', op: '<', value: 200 } }),
      row(name, "local change, p50 of a fresh process's first changes (cold: not yet optimised by V8)", 'µs', m(z, 'localColdUs'), null, { baselineLabel: '' }),
      row(name, 'remote fragment applied, amortized (receiver CPU / fragment)', 'µs', m(z, 'remoteUs'), 100, { baselineLabel: 'target', target: { kind: 'abs', op: '<', value: 100 } }),
      row(name, 'receiver fragments per apply', 'frags', m(z, 'recvBatch'), null, { baselineLabel: '', better: 'higher' }),
      row(name, 'root sustained fragments/s', 'msg/s', m(z, 'rootRate'), m(res.raw, 'rootRate'), { better: 'higher', baselineLabel: `raw forwarder, ${RAW_SIZE} B` }),
    )
  }
  rows.push(
    row('wide doc: keyed vs flat', 'local change speed-up (flat ÷ keyed)', '×', m(res.flat, 'localUs') / m(res.keyed, 'localUs'), null, { baselineLabel: '', better: 'higher' }),
    row('wide doc: keyed vs flat', 'root throughput gain (keyed ÷ flat)', '×', m(res.keyed, 'rootRate') / m(res.flat, 'rootRate'), null, { baselineLabel: '', better: 'higher' }),
  )
  return { rows, data: { config: cfg, ...res } }
}
