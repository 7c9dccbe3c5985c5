// The keyed canvas's local-change figure of the wide scenario alone, over processes (root and one
// producer over tcp, as bench/scenarios/wide.mjs measures it, without its flat layout and flood
// phases): a quick before/after check of issue 13's ≤ 10 % bound.
//
//   node bench/scenarios/keyed-local.mjs [--reps 3]
import { parseArgs } from 'node:util'
import { median, sleep, spawnWorker, stopAll } from './common.mjs'
import { summarize } from '../lib/stats.mjs'

const { values: args } = parseArgs({ options: { reps: { type: 'string', default: '3' }, n: { type: 'string', default: '10000' } } })

async function once(n) {
  const ws = []
  try {
    const root = await spawnWorker('zinc-root', {})
    ws.push(root)
    await root.call('open', { doc: 'canvas', initial: { kind: 'wide', layout: 'keyed', n } })
    const prod = await spawnWorker('zinc-client', { join: root.info.addresses })
    ws.push(prod)
    await prod.call('open', { doc: 'canvas' })
    await prod.call('flood', { recipe: { kind: 'wide', layout: 'keyed', n }, window: 20, burst: 1, time: true })
    await sleep(300)
    const timed = await prod.call('halt')
    return { p50: summarize(timed.changeUs.slice(5)).p50, n: timed.changeUs.length }
  } finally {
    await stopAll(ws)
  }
}

const runs = []
for (let r = 0; r < Number(args.reps); r++) {
  runs.push(await once(Number(args.n)))
  console.log(`keyed ${args.n}-shape local change over processes, rep ${r + 1}: p50 ${runs[r].p50.toFixed(0)} µs over ${runs[r].n} changes`)
}
console.log(JSON.stringify({ p50: median(runs.map((x) => x.p50)) }))
