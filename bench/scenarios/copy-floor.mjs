// Issue 17: why a change to one key of a wide, frozen record costs O(keys), whatever Zinc does.
//
// Every Zinc state is a deep-frozen plain object and every change makes a new one, so a change
// to one shape of a flat 400-shape record makes a new 400-key object. What that costs in V8
// (Node 20) depends on how it is copied, and this measures each way in a fresh process (V8's
// inline caches remember earlier cases, so sharing a process would mix them up):
//
//   spread, one call site, unfrozen source   `{ ...record }` where the site has only seen this shape
//   spread, shared call site, unfrozen       the same after the site saw 50 other shapes (immer's
//                                            shallowCopy is one such site for every object it copies)
//   spread of a frozen source                any site: V8 copies a frozen object key by key
//   Object.freeze of a fresh copy            what makes the new record frozen
//   immer produce, set one key               what doc.change does: copy + set + freeze
//
//   node bench/scenarios/copy-floor.mjs [--keys 400] [--n 20000]
// Prints µs per operation (median of 3 runs of n operations each).
import { fork } from 'node:child_process'
import { opt } from '../lib/doc-path.mjs'

const argv = process.argv.slice(2)
const KEYS = opt(argv, '--keys', 400)
const N = opt(argv, '--n', 20_000)

const record = () => {
  const r = {}
  for (let i = 0; i < KEYS; i++) r[`w${i % 4}-${i}`] = { id: `w${i % 4}-${i}`, x: i, y: i }
  return { ...r }
}
const shape = (n) => ({ id: 'w1-1', x: n, y: n })

const CASES = {
  'spread, one call site, unfrozen source': () => {
    const src = record()
    const copy = (s) => ({ ...s })
    return () => copy(src)
  },
  'spread, shared call site, unfrozen source': () => {
    const src = record()
    const copy = (s) => ({ ...s })
    for (let k = 0; k < 50; k++) copy({ [`k${k}`]: 1, x: 2 })
    return () => copy(src)
  },
  'spread of a frozen source': () => {
    const src = Object.freeze(record())
    const copy = (s) => ({ ...s })
    return () => copy(src)
  },
  'Object.freeze of a fresh copy': () => {
    const src = record()
    const copy = (s) => ({ ...s })
    return () => Object.freeze(copy(src))
  },
  'immer produce, set one key (auto-freeze)': async () => {
    const { produce } = await import('immer')
    let state = Object.freeze({ shapes: Object.freeze(record()) })
    let n = 0
    return () => {
      state = produce(state, (d) => void (d.shapes['w1-1'] = shape(++n)))
    }
  },
}

function time(run) {
  for (let i = 0; i < 2000; i++) run()
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < N; i++) run()
  return Number(process.hrtime.bigint() - t0) / 1000 / N
}

if (process.env.COPY_FLOOR_CASE) {
  const run = await CASES[process.env.COPY_FLOOR_CASE]()
  process.send(time(run), () => process.exit(0))
} else {
  const once = (name) =>
    new Promise((resolve, reject) => {
      const child = fork(new URL(import.meta.url), argv, { env: { ...process.env, COPY_FLOOR_CASE: name } })
      child.once('message', resolve)
      child.once('exit', (code) => code !== 0 && reject(new Error(`case "${name}" exited with ${code}`)))
    })
  console.log(`a ${KEYS}-key record, ${N} operations per run, median of 3 runs (Node ${process.version})`)
  for (const name of Object.keys(CASES)) {
    const runs = []
    for (let r = 0; r < 3; r++) runs.push(await once(name))
    runs.sort((a, b) => a - b)
    console.log(`${name.padEnd(44)} ${runs[1].toFixed(2).padStart(8)} µs`)
  }
}
