// Issue 17's per-message cost at low rates, in one process (not part of `npm run bench`): a root,
// one writer and N readers over the real ZeroMQ transport (tcp loopback), the writer changing a
// 1 KB slot at a steady rate. Reports the process's CPU per change beyond idling (idle CPU is
// measured first over the same time with no traffic), and change → reader latency.
//
//   node bench/scenarios/hops.mjs [--rate 500] [--seconds 4] [--readers 1] [--bytes 1000] [--reps 3]
//
// One process means one event loop for all endpoints, so wakeups of different endpoints may
// share a turn; the figure is for comparing builds, interleaved: ZINC_DIST=<dir holding
// packages/> measures another build (run the two alternately on a loaded machine).
import { parseArgs } from 'node:util'
import { performance } from 'node:perf_hooks'
import os from 'node:os'
import { readFileSync, readdirSync } from 'node:fs'

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '4' },
    readers: { type: 'string', default: '1' },
    bytes: { type: 'string', default: '1000' },
    reps: { type: 'string', default: '3' },
  },
})
const rate = Number(args.rate)
const seconds = Number(args.seconds)
const root = process.env.ZINC_DIST ? new URL(`file://${process.env.ZINC_DIST.replace(/\/?$/, '/')}`) : new URL('../../', import.meta.url)
const { Endpoint } = await import(new URL('packages/core/dist/index.js', root).href)
const { ZmqTransport } = await import(new URL('packages/transport-zmq/dist/index.js', root).href)

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const cpuUs = () => {
  const u = process.cpuUsage()
  return u.user + u.system
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]

/** CPU ms per thread name (Linux only): where the process's CPU goes beyond the main thread. */
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
const threadsDelta = (a, b) => Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v - (a[k] ?? 0)]))

async function run() {
  const transport = new ZmqTransport()
  const bind = { inbound: 'tcp://127.0.0.1:*', outbound: 'tcp://127.0.0.1:*' }
  const host = await Endpoint.start({ transport, bind })
  const writer = await Endpoint.start({ transport, join: host.addresses })
  const readers = []
  for (let i = 0; i < Number(args.readers); i++) readers.push(await Endpoint.start({ transport, join: host.addresses }))
  const padding = 'x'.repeat(Math.max(0, Number(args.bytes) - 60))
  await host.open('hops', { initial: { slot: null } })
  const doc = await writer.open('hops')
  const readerDocs = await Promise.all(readers.map((r) => r.open('hops')))
  await Promise.all([doc, ...readerDocs].map((d) => d.synced()))
  const latencies = []
  let seen = 0
  for (const d of readerDocs)
    d.subscribe((state, _fragment, batch) => {
      if (batch.length === 0 || !state.slot) return
      seen++
      latencies.push(performance.now() - state.slot.t)
    })
  await sleep(500)
  // Idle first: heartbeats and timers of every endpoint, taken out of the figure below.
  const idle0 = cpuUs()
  const idleThreads0 = threadsMs()
  await sleep(seconds * 1000)
  const idleUs = cpuUs() - idle0
  const idleThreads = threadsDelta(idleThreads0, threadsMs())
  const busyThreads0 = threadsMs()
  let sent = 0
  const c0 = cpuUs()
  const t0 = performance.now()
  while (performance.now() - t0 < seconds * 1000) {
    const due = Math.floor(((performance.now() - t0) * rate) / 1000)
    while (sent < due) {
      const value = { t: performance.now(), n: sent++, pad: padding }
      doc.change((d) => {
        d.slot = value
      })
    }
    await sleep(1)
  }
  await doc.synced({ timeoutMs: 10_000 })
  while (seen < sent * readers.length && performance.now() - t0 < (seconds + 5) * 1000) await sleep(1)
  const elapsed = performance.now() - t0
  const busyUs = cpuUs() - c0 - (idleUs * elapsed) / (seconds * 1000)
  const busyThreads = threadsDelta(busyThreads0, threadsMs())
  const perThreadUs = Object.fromEntries(
    Object.entries(busyThreads)
      .map(([k, v]) => [k, Math.round(((v - ((idleThreads[k] ?? 0) * elapsed) / (seconds * 1000)) * 1000) / sent)])
      .filter(([, v]) => v !== 0),
  )
  await Promise.all([...readers, writer, host].map((e) => e.close()))
  transport.close?.()
  return { cpuPerChangeUs: busyUs / sent, p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99), sent, idleCpuPct: idleUs / (seconds * 10_000), perThreadUs }
}

const results = []
for (let i = 0; i < Number(args.reps); i++) {
  const r = await run()
  results.push(r)
  console.error(
    `rep ${i + 1}: ${r.cpuPerChangeUs.toFixed(0)} µs CPU per change, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, ${r.sent} changes, idle ${r.idleCpuPct.toFixed(1)}%, per thread ${JSON.stringify(r.perThreadUs)} (load ${os.loadavg()[0].toFixed(1)})`,
  )
}
const summary = {
  build: process.env.ZINC_DIST ?? 'this checkout',
  rate,
  readers: Number(args.readers),
  cpuPerChangeUs: Math.round(median(results.map((r) => r.cpuPerChangeUs))),
  p50Ms: median(results.map((r) => r.p50Ms)),
  p99Ms: median(results.map((r) => r.p99Ms)),
  load: os.loadavg()[0],
}
console.log(JSON.stringify(summary))
process.exit(0)
