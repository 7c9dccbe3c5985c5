// Issue 13's speed regression, as a quick repro (not part of `npm run bench`):
//   - burst: an in-process host and 4 clients on the inproc transport; each client makes 200
//     changes as fast as it can, each pushing a unique token into one shared list and setting
//     one of 7 shared keys (the examples/cluster client's recipe); time until every endpoint is
//     `synced()` and all replicas agree, with the CPU time and the longest single flush of the
//     root's sequencer and of a replica (what holds a process's event loop, heartbeats included);
//   - keyed: p50 of doc.change on a `keyed` 10,000-shape canvas (the wide bench's recipe: one
//     shape's x), the first 300 changes after 5 warm-up ones, as the wide scenario measures it
//     (cold JIT included), plus a warm figure over 3,000 more.
//
//   node bench/scenarios/intent-burst.mjs [--writers 4] [--changes 200] [--reps 3] [--only burst|keyed]
//
// Prints one line per figure and a JSON line; the burst also reports the CPU time it took (all
// endpoints share this process), steadier than wall time on a loaded machine. ZINC_DIST=<dir holding packages/> measures
// another build (before/after comparisons).
import { parseArgs } from 'node:util'
import { performance } from 'node:perf_hooks'

const { values: args } = parseArgs({
  options: {
    writers: { type: 'string', default: '4' },
    changes: { type: 'string', default: '200' },
    keys: { type: 'string', default: '7' },
    reps: { type: 'string', default: '3' },
    only: { type: 'string' },
  },
})
const root = process.env.ZINC_DIST ? new URL(`file://${process.env.ZINC_DIST.replace(/\/?$/, '/')}`) : new URL('../../', import.meta.url)
const { Endpoint, keyed } = await import(new URL('packages/core/dist/index.js', root).href)
const { InprocNetwork, InprocTransport } = await import(new URL('packages/transport-inproc/dist/index.js', root).href)
const { Sequencer } = await import(new URL('packages/core/dist/document/sequencer.js', root).href)
const { Replica } = await import(new URL('packages/core/dist/document/replica.js', root).href)

/**
 * The longest single run of the root's sequencer flush and of a replica's flush of arriving
 * fragments: in one process per endpoint, that is how long each holds its event loop (and its
 * heartbeats) at a time. (In this one process the inproc transport chains everything through
 * microtasks, so timers wait for the whole burst; the per-call figures are what a real root or
 * client would show.)
 */
const longest = { rootFlushMs: 0, replicaFlushMs: 0 }
const timed = (proto, name, key) => {
  const inner = proto[name]
  proto[name] = function (...args) {
    const t0 = performance.now()
    try {
      return inner.apply(this, args)
    } finally {
      longest[key] = Math.max(longest[key], performance.now() - t0)
    }
  }
}
timed(Sequencer.prototype, 'flush', 'rootFlushMs')
timed(Replica.prototype, 'flush', 'replicaFlushMs')

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function start(network, name, join) {
  const transport = new InprocTransport(network, { node: name })
  return Endpoint.start({
    transport,
    bind: { inbound: network.uniqueAddress(`${name}-in`), outbound: network.uniqueAddress(`${name}-out`) },
    ...(join ? { join: join.addresses } : {}),
  })
}

/** ms from the first change until every endpoint is synced and every replica equals the host's. */
async function burst({ writers, changes, keys }) {
  const network = new InprocNetwork({ seed: 1 })
  const host = await start(network, 'host')
  const clients = []
  for (let i = 0; i < writers; i++) clients.push(await start(network, `client-${i}`, host))
  try {
    const hostDoc = await host.open('cluster', { initial: { tokens: [], keys: {} } })
    const docs = await Promise.all(clients.map((c) => c.open('cluster')))
    await Promise.all(docs.map((d) => d.synced()))
    longest.rootFlushMs = longest.replicaFlushMs = 0
    const t0 = performance.now()
    const c0 = process.cpuUsage()
    // As examples/cluster/client.ts with --interval 0: every change at once, then wait.
    for (let i = 0; i < changes; i++) {
      docs.forEach((doc, w) =>
        doc.change((d) => {
          d.tokens.push(`c${w}#${i}`)
          d.keys[`k${i % keys}`] = `c${w}#${i}`
        }),
      )
    }
    await Promise.all([hostDoc, ...docs].map((d) => d.synced({ timeoutMs: 120_000 })))
    while (!docs.every((d) => d.seq === hostDoc.seq && d.pendingCount === 0)) await new Promise((r) => setTimeout(r, 1))
    const ms = performance.now() - t0
    const cpu = process.cpuUsage(c0)
    const want = writers * changes
    const ok = hostDoc.state.tokens.length === want && new Set(hostDoc.state.tokens).size === want && docs.every((d) => JSON.stringify(d.state) === JSON.stringify(hostDoc.state))
    if (!ok) throw new Error(`burst: replicas disagree or tokens are missing (${hostDoc.state.tokens.length} of ${want})`)
    const stats = host.stats()
    return { ms, cpuMs: (cpu.user + cpu.system) / 1000, ...longest, transformed: stats.transformed, staleBases: stats.staleBases, rejected: stats.rejected }
  } finally {
    await Promise.all([host, ...clients].map((e) => e.close()))
  }
}

/** µs of doc.change on a keyed 10,000-shape canvas (one shape's x), as bench/scenarios/wide.mjs. */
async function keyedLocal({ n = 10_000, cold = 300, warm = 3000 } = {}) {
  const network = new InprocNetwork({ seed: 2 })
  const host = await start(network, 'host')
  const client = await start(network, 'client', host)
  try {
    const shape = (i) => ({ id: `s${i}`, x: i % 1000, y: (i * 7) % 1000, w: 40, h: 30, fill: '#3366cc', z: i })
    await host.open('canvas', { initial: { shapes: keyed.from(Array.from({ length: n }, (_, i) => [`s${i}`, shape(i)])) } })
    const doc = await client.open('canvas')
    await doc.synced()
    let k = 0
    let c = 0
    const times = []
    for (let i = 0; i < 5 + cold + warm; i++) {
      const id = `s${(k = (k * 1103515245 + 12345) >>> 0) % n}`
      const x = 1000 + c++
      const t0 = performance.now()
      doc.change((d) => {
        keyed.draftOf(d.shapes, id).x = x
      })
      times.push((performance.now() - t0) * 1000)
      // As the wide bench's window: let confirmations and the network run now and then.
      if (i % 20 === 19) await new Promise((r) => setImmediate(r))
    }
    await doc.synced({ timeoutMs: 60_000 })
    return { coldUs: median(times.slice(5, 5 + cold)), warmUs: median(times.slice(5 + cold)) }
  } finally {
    await Promise.all([client.close(), host.close()])
  }
}

const out = {}
const reps = Number(args.reps)
if (args.only !== 'keyed') {
  const runs = []
  for (let r = 0; r < reps; r++) {
    runs.push(await burst({ writers: Number(args.writers), changes: Number(args.changes), keys: Number(args.keys) }))
    console.log(
      `burst ${args.writers} writers × ${args.changes} changes, rep ${r + 1}: ${runs[r].ms.toFixed(0)} ms (CPU ${runs[r].cpuMs.toFixed(0)} ms, longest root flush ${runs[r].rootFlushMs.toFixed(0)} ms, replica flush ${runs[r].replicaFlushMs.toFixed(0)} ms; transformed ${runs[r].transformed}, stale ${runs[r].staleBases})`,
    )
  }
  out.burstMs = median(runs.map((x) => x.ms))
  out.burstCpuMs = median(runs.map((x) => x.cpuMs))
  out.rootFlushMs = median(runs.map((x) => x.rootFlushMs))
  out.replicaFlushMs = median(runs.map((x) => x.replicaFlushMs))
  out.burst = runs
}
if (args.only !== 'burst') {
  const runs = []
  for (let r = 0; r < reps; r++) {
    runs.push(await keyedLocal())
    console.log(`keyed 10,000-shape local change, rep ${r + 1}: p50 ${runs[r].coldUs.toFixed(0)} µs first 300, ${runs[r].warmUs.toFixed(0)} µs warm`)
  }
  out.keyedColdUs = median(runs.map((x) => x.coldUs))
  out.keyedWarmUs = median(runs.map((x) => x.warmUs))
}
console.log(JSON.stringify(out, (k, v) => (typeof v === 'number' ? Math.round(v * 10) / 10 : v)))
