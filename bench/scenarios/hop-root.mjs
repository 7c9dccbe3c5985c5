// Issue 17's per-hop cost, the root alone (not part of `npm run bench`): a root in its own
// process, a writer and a reader in another, over the real ZeroMQ transport (tcp loopback),
// the writer changing a 1 KB slot at a steady rate. Reports the ROOT's CPU per change beyond
// idling, per thread (from /proc: main, V8's background threads "node", ZeroMQ's I/O thread),
// and change → reader latency; with --heap, the root's allocations per change by function
// (V8's sampling heap profiler, counting what GC collected too). Unlike hops.mjs, the figure is
// the root's alone, not the writer's and reader's as well.
//
//   node bench/scenarios/hop-root.mjs [--rate 500] [--seconds 5] [--warm 6] [--reps 3] [--heap] [--dists a,b]
//
// --warm runs changes before measuring: V8 optimizes the hot path over the first seconds, and
// at 500/s a short warm-up leaves that compilation (V8's "node" threads) in the figure.
// --dists takes builds to alternate (directories holding packages/; default this checkout), e.g.
// `--dists /work/base,.` measures before/after interleaved, rep by rep.
import { fork } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const here = path.dirname(fileURLToPath(import.meta.url))
const role = process.env.HOP_ROOT_ROLE
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const load = async (dist) => ({
  Endpoint: (await import(new URL('packages/core/dist/index.js', `file://${dist}/`).href)).Endpoint,
  ZmqTransport: (await import(new URL('packages/transport-zmq/dist/index.js', `file://${dist}/`).href)).ZmqTransport,
})

/** CPU ms per thread name (Linux only). */
function threadsMs() {
  const out = {}
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      const name = Number(tid) === process.pid ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      out[name] = (out[name] ?? 0) + ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
    }
  } catch {
    // not Linux
  }
  return out
}

if (role === 'root') {
  const { Endpoint, ZmqTransport } = await load(process.env.HOP_ROOT_DIST)
  const transport = new ZmqTransport()
  const ep = await Endpoint.start({ transport, bind: { inbound: 'tcp://127.0.0.1:*', outbound: 'tcp://127.0.0.1:*' } })
  await ep.open('hop', { initial: { slot: null } })
  const inspector = await import('node:inspector')
  const session = new inspector.Session()
  session.connect()
  const post = (method, params) => new Promise((resolve, reject) => session.post(method, params, (e, r) => (e ? reject(e) : resolve(r))))
  process.on('message', async (m) => {
    if (m.cmd === 'mark') {
      const u = process.cpuUsage()
      process.send({ cpuUs: u.user + u.system, threads: threadsMs() })
    } else if (m.cmd === 'heap-start') {
      await post('HeapProfiler.enable')
      await post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
      process.send({})
    } else if (m.cmd === 'heap-stop') {
      const { profile } = await post('HeapProfiler.stopSampling')
      process.send({ profile })
    } else if (m.cmd === 'stop') {
      await ep.close()
      await transport.close?.()
      process.exit(0)
    }
  })
  process.send({ addresses: ep.addresses })
} else if (role === 'clients') {
  const { Endpoint, ZmqTransport } = await load(process.env.HOP_ROOT_DIST)
  const join = JSON.parse(process.env.HOP_ROOT_JOIN)
  const transport = new ZmqTransport()
  const writer = await Endpoint.start({ transport, join })
  const reader = await Endpoint.start({ transport, join })
  const doc = await writer.open('hop')
  const seen = await reader.open('hop')
  await Promise.all([doc.synced(), seen.synced()])
  const latencies = []
  seen.subscribe((state, _fragment, batch) => {
    if (batch.length > 0 && state.slot) latencies.push(performance.now() - state.slot.t)
  })
  const pad = 'x'.repeat(940)
  process.on('message', async (m) => {
    if (m.cmd === 'drive') {
      latencies.length = 0
      let sent = 0
      const t0 = performance.now()
      while (performance.now() - t0 < m.seconds * 1000) {
        const due = Math.floor(((performance.now() - t0) * m.rate) / 1000)
        while (sent < due) {
          const value = { t: performance.now(), n: sent++, pad }
          doc.change((d) => void (d.slot = value))
        }
        await sleep(1)
      }
      await doc.synced({ timeoutMs: 10_000 })
      await sleep(100)
      const sorted = [...latencies].sort((a, b) => a - b)
      process.send({ sent, p50: sorted[Math.floor(sorted.length / 2)], p99: sorted[Math.floor(sorted.length * 0.99)] })
    } else if (m.cmd === 'stop') {
      await Promise.all([writer.close(), reader.close()])
      process.exit(0)
    }
  })
  process.send({ ready: true })
} else {
  const { values: args } = parseArgs({
    options: {
      rate: { type: 'string', default: '500' },
      seconds: { type: 'string', default: '5' },
      warm: { type: 'string', default: '6' },
      reps: { type: 'string', default: '3' },
      heap: { type: 'boolean', default: false },
      dists: { type: 'string', default: '' },
    },
  })
  const dists = (args.dists || path.join(here, '..', '..')).split(',').map((d) => path.resolve(d))
  const rate = Number(args.rate)
  const seconds = Number(args.seconds)
  const spawn = (r, dist, env = {}) =>
    fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, HOP_ROOT_ROLE: r, HOP_ROOT_DIST: dist, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const ask = (child, message) => {
    const answer = new Promise((resolve) => child.once('message', resolve))
    if (message) child.send(message)
    return answer
  }
  /** Bytes allocated per change by function (self), largest first. */
  const heapTop = (profile, changes) => {
    const self = new Map()
    let total = 0
    const walk = (n) => {
      const f = n.callFrame
      const name = `${f.functionName || '(anonymous)'} ${f.url.replace(/.*\/(packages|node_modules)\//, '')}:${f.lineNumber + 1}`
      self.set(name, (self.get(name) ?? 0) + n.selfSize)
      total += n.selfSize
      for (const c of n.children) walk(c)
    }
    walk(profile.head)
    const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 15)
    return { total: Math.round(total / changes), top: top.map(([k, v]) => `${String(Math.round(v / changes)).padStart(6)} B ${k}`) }
  }
  const run = async (dist) => {
    const root = spawn('root', dist)
    const { addresses } = await ask(root)
    const clients = spawn('clients', dist, { HOP_ROOT_JOIN: JSON.stringify(addresses) })
    await ask(clients)
    await ask(clients, { cmd: 'drive', seconds: Number(args.warm), rate })
    // Idle first (heartbeats and timers), taken out of the figure below.
    const i0 = await ask(root, { cmd: 'mark' })
    await sleep(seconds * 1000)
    const i1 = await ask(root, { cmd: 'mark' })
    if (args.heap) await ask(root, { cmd: 'heap-start' })
    const m0 = await ask(root, { cmd: 'mark' })
    const t0 = performance.now()
    const d = await ask(clients, { cmd: 'drive', seconds, rate })
    const m1 = await ask(root, { cmd: 'mark' })
    // The idle CPU over as long as the busy phase took (it ends once everything was delivered).
    const scale = (performance.now() - t0) / (seconds * 1000)
    const heap = args.heap ? heapTop((await ask(root, { cmd: 'heap-stop' })).profile, d.sent) : undefined
    clients.send({ cmd: 'stop' })
    root.send({ cmd: 'stop' })
    await sleep(300)
    const perThread = {}
    for (const k of Object.keys(m1.threads)) {
      const us = ((m1.threads[k] - (m0.threads[k] ?? 0) - ((i1.threads[k] ?? 0) - (i0.threads[k] ?? 0)) * scale) * 1000) / d.sent
      if (Math.round(us) !== 0) perThread[k] = Math.round(us)
    }
    return { rootUs: (m1.cpuUs - m0.cpuUs - (i1.cpuUs - i0.cpuUs) * scale) / d.sent, p50Ms: d.p50, p99Ms: d.p99, sent: d.sent, perThread, heap }
  }
  for (let rep = 0; rep < Number(args.reps); rep++) {
    for (const dist of dists) {
      const r = await run(dist)
      console.log(
        `${dist}: root ${r.rootUs.toFixed(0)} µs CPU per change, per thread ${JSON.stringify(r.perThread)}, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, ${r.sent} changes (load ${os.loadavg()[0].toFixed(1)})`,
      )
      if (r.heap) console.log(`  allocated ${r.heap.total} B per change at the root; by function:\n  ${r.heap.top.join('\n  ')}`)
    }
  }
  process.exit(0)
}
