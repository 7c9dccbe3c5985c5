// (1) 1 KB fragments from P client processes through the root to S subscriber processes.
import { cpuPct, median, rateBetween, row, sleep, spawnMany, spawnWorker, stopAll } from './common.mjs'

const SIZE = 1024

async function measure(kind, { P, S, warmMs, durMs, window, hwm }) {
  const h = hwm ? { hwm } : {}
  const ws = []
  try {
    let root, subs, prods
    if (kind === 'zinc') {
      root = await spawnWorker('zinc-root', { ...h })
      ws.push(root)
      await root.call('open', { doc: 'tp', initial: { kind: 'empty' } })
      const join = root.info.addresses
      ;[subs, prods] = await Promise.all([spawnMany(S, 'zinc-client', { join, ...h }), spawnMany(P, 'zinc-client', { join, ...h })])
      ws.push(...subs, ...prods)
      await Promise.all([...subs, ...prods].map((w) => w.call('open', { doc: 'tp' })))
      await Promise.all(subs.map((w) => w.call('listen', { mode: 'count' })))
      await Promise.all(prods.map((w, i) => w.call('flood', { recipe: { kind: 'slot', key: `p${i}`, size: SIZE }, window })))
    } else {
      root = await spawnWorker('raw-forwarder', { ...h })
      ws.push(root)
      const connect = root.info.addresses
      ;[subs, prods] = await Promise.all([spawnMany(S, 'raw-client', { connect, subs: 1, push: false, ...h }), spawnMany(P, 'raw-client', { connect, ...h })])
      ws.push(...subs, ...prods)
      await Promise.all(subs.map((w) => w.call('listen', { mode: 'count' })))
      await sleep(200) // let the subscriptions reach the forwarder
      await Promise.all(prods.map((w) => w.call('flood', { size: SIZE })))
    }
    await sleep(warmMs)
    const [r0, ...s0] = await Promise.all([root.call('mark'), ...subs.map((w) => w.call('mark'))])
    const p0 = await Promise.all(prods.map((w) => w.call('mark')))
    await sleep(durMs)
    const [r1, ...s1] = await Promise.all([root.call('mark'), ...subs.map((w) => w.call('mark'))])
    const p1 = await Promise.all(prods.map((w) => w.call('mark')))
    // Where the root's work went (catch-ups answered, queue drops): Zinc only.
    const rootStats = kind === 'zinc' ? await root.call('stats').catch(() => null) : null
    await Promise.all(prods.map((w) => w.call('halt')))
    const perSub = s0.map((m, i) => rateBetween(m, s1[i]))
    const subFrags = s1.reduce((n, m, i) => n + (m.count - s0[i].count), 0)
    const subCpuUs = s1.reduce((n, m, i) => n + (m.cpuUs - s0[i].cpuUs), 0)
    const prodCpuUs = p1.reduce((n, m, i) => n + (m.cpuUs - p0[i].cpuUs), 0)
    const rootFrags = r1.sequenced - r0.sequenced
    return {
      rootStats: rootStats && {
        queueDrops: rootStats.queueDrops,
        dropped: rootStats.dropped,
        duplicates: rootStats.duplicates,
        resyncs: rootStats.resyncs,
        sequenced: rootStats.sequenced,
        sentByKind: rootStats.sentByKind,
        receivedByKind: rootStats.receivedByKind,
      },
      subCpuPerFrag: subCpuUs / Math.max(1, subFrags),
      rootCpuPerFrag: (r1.cpuUs - r0.cpuUs) / Math.max(1, rootFrags),
      prodCpuPerFrag: prodCpuUs / Math.max(1, rootFrags),
      perSub: median(perSub),
      minSub: Math.min(...perSub),
      rootRate: rateBetween(r0, r1, 'sequenced'),
      rootCpu: cpuPct(r0, r1),
      batch:
        s1.reduce((n, m, i) => n + (m.count - s0[i].count), 0) /
        Math.max(
          1,
          s1.reduce((n, m, i) => n + (m.events - s0[i].events), 0),
        ),
    }
  } finally {
    await stopAll(ws)
  }
}

export async function throughput(ctx) {
  const cfg = {
    ...(ctx.smoke ? { P: 2, S: 2, warmMs: 300, durMs: 600, window: 100 } : { P: 4, S: 8, warmMs: 1500, durMs: 4000, window: 200 }),
    ...(ctx.window ? { window: ctx.window } : {}),
    ...(ctx.hwm ? { hwm: ctx.hwm } : {}),
  }
  const z = [],
    r = []
  for (let rep = 1; rep <= ctx.reps; rep++) {
    ctx.progress(`throughput: zinc, ${cfg.P} producers → root → ${cfg.S} subscribers, rep ${rep}/${ctx.reps}`)
    z.push(await measure('zinc', cfg))
    ctx.progress(`throughput: raw forwarder, rep ${rep}/${ctx.reps}`)
    r.push(await measure('raw', cfg))
  }
  const m = (a, k) => median(a.map((x) => x[k]))
  const name = `throughput (${cfg.P}→root→${cfg.S}, 1 KB, tcp${cfg.hwm ? `, hwm ${cfg.hwm}` : ''}${ctx.window ? `, window ${cfg.window}` : ''})`
  return {
    rows: [
      row(name, 'fragments/s per subscriber (median sub)', 'msg/s', m(z, 'perSub'), m(r, 'perSub'), { better: 'higher', target: { kind: 'ratio', op: '>=', value: 1 } }),
      row(name, 'fragments/s per subscriber (slowest sub)', 'msg/s', m(z, 'minSub'), m(r, 'minSub'), { better: 'higher' }),
      row(name, 'root sequenced/forwarded per s', 'msg/s', m(z, 'rootRate'), m(r, 'rootRate'), { better: 'higher' }),
      row(name, 'root CPU', '% core', m(z, 'rootCpu'), m(r, 'rootCpu'), { better: 'lower' }),
      row(name, 'root CPU per fragment', 'µs', m(z, 'rootCpuPerFrag'), m(r, 'rootCpuPerFrag'), { better: 'lower' }),
      row(name, 'subscriber CPU per fragment received', 'µs', m(z, 'subCpuPerFrag'), m(r, 'subCpuPerFrag'), { better: 'lower' }),
      row(name, "producer CPU per fragment sent (incl. receiving the others' fragments)", 'µs', m(z, 'prodCpuPerFrag'), m(r, 'prodCpuPerFrag'), {
        better: 'lower',
        note: "Zinc producers also apply every other producer's fragments; raw PUSH producers receive nothing",
      }),
      row(name, 'fragments per subscriber callback / recv', 'frags', m(z, 'batch'), m(r, 'batch'), { better: 'higher', note: 'batching: >1 means several fragments applied per tick' }),
    ],
    data: { config: cfg, zinc: z, raw: r },
  }
}
