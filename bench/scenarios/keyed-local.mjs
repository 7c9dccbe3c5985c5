// The keyed canvas's local-change figure of the wide scenario alone, over processes (root and one
// producer over tcp, as bench/scenarios/wide.mjs measures it, without its flat layout and flood
// phases): p50 of a fresh process's first changes (cold) and again after 2 s of changes (warm);
// a quick before/after check of issue 13's ≤ 10 % bound.
//
//   node bench/scenarios/keyed-local.mjs [--reps 3] [--parts]
//
// --parts: instead, in this process, the mean µs of each part of a local change over 5,000
// changes (immer's produce with the recipe, the diff into an op, its inverse for undo, encoding).
// ZINC_DIST=<dir holding packages/> measures another build's parts.
import { parseArgs } from 'node:util'
import { median, sleep, spawnWorker, stopAll } from './common.mjs'
import { summarize } from '../lib/stats.mjs'
import { shape } from '../lib/payload.mjs'

const { values: args } = parseArgs({ options: { reps: { type: 'string', default: '3' }, n: { type: 'string', default: '10000' }, parts: { type: 'boolean', default: false } } })

async function parts(n, count = 5000) {
  const root = process.env.ZINC_DIST ? new URL(`file://${process.env.ZINC_DIST.replace(/\/?$/, '/')}`) : new URL('../../', import.meta.url)
  const load = (path) => import(new URL(`packages/core/dist/${path}`, root).href)
  const [{ keyed }, { produce }, { diffWithOrder, recordIdentity }, { invertOp }, { encodeOp }] = await Promise.all(
    ['index.js', 'document/immer.js', 'document/diff.js', 'document/ot.js', 'protocol/ops.js'].map(load),
  )
  let state = produce({ shapes: keyed.from(Array.from({ length: n }, (_, i) => [`s${i}`, shape(i)])) }, () => {})
  const t = { produce: 0, diff: 0, invert: 0, encode: 0 }
  let k = 0
  for (let i = 0; i < count; i++) {
    const id = `s${(k = (k * 1103515245 + 12345) >>> 0) % n}`
    const x = 1000 + i
    const t0 = performance.now()
    const identity = new Map()
    const after = produce(state, (d) => {
      keyed.draftOf(d.shapes, id).x = x
      recordIdentity(d, identity)
    })
    const t1 = performance.now()
    const { op } = diffWithOrder(state, after, identity)
    const t2 = performance.now()
    invertOp(op, state)
    const t3 = performance.now()
    encodeOp(op)
    t.produce += t1 - t0
    t.diff += t2 - t1
    t.invert += t3 - t2
    t.encode += performance.now() - t3
    state = after
  }
  for (const key in t) t[key] = Math.round((t[key] * 10000) / count) / 10
  return t
}

if (args.parts) {
  console.log(JSON.stringify(await parts(Number(args.n))))
  process.exit(0)
}

async function once(n) {
  const ws = []
  try {
    const root = await spawnWorker('zinc-root', {})
    ws.push(root)
    await root.call('open', { doc: 'canvas', initial: { kind: 'wide', layout: 'keyed', n } })
    const prod = await spawnWorker('zinc-client', { join: root.info.addresses })
    ws.push(prod)
    await prod.call('open', { doc: 'canvas' })
    const recipe = { kind: 'wide', layout: 'keyed', n }
    const timedChanges = async () => {
      await prod.call('flood', { recipe, window: 20, burst: 1, time: true })
      await sleep(300)
      return (await prod.call('halt')).changeUs
    }
    // A fresh process's first changes (cold: V8 has not optimised the path yet), then the same
    // after two seconds of changes at full speed (warm), as bench/scenarios/wide.mjs measures.
    const cold = await timedChanges()
    await prod.call('flood', { recipe, window: 200 })
    await sleep(2000)
    await prod.call('halt')
    await sleep(200)
    const warm = await timedChanges()
    return { p50: summarize(warm.slice(5)).p50, n: warm.length, coldP50: summarize(cold.slice(5)).p50 }
  } finally {
    await stopAll(ws)
  }
}

const runs = []
for (let r = 0; r < Number(args.reps); r++) {
  runs.push(await once(Number(args.n)))
  console.log(
    `keyed ${args.n}-shape local change over processes, rep ${r + 1}: p50 ${runs[r].p50.toFixed(0)} µs warm over ${runs[r].n} changes (cold, a fresh process's first: ${runs[r].coldP50.toFixed(0)} µs)`,
  )
}
console.log(JSON.stringify({ p50: median(runs.map((x) => x.p50)), coldP50: median(runs.map((x) => x.coldP50)) }))
