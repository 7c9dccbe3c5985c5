// (11) Sharded hosts on etcd (issue 18): documents spread over S shards whose roots are spread
// over H hosts (ShardedHost, one process each), written by P producer processes (Forest), on
// tcp loopback, with a real etcd on 127.0.0.1.
//
// For H = 1, 2, 3: documents/s (open + first change confirmed, all producers at once) and
// fragments/s the hosts sequence together while every producer floods its documents (at most
// `window` unconfirmed per document), with each host's CPU. Then, with 3 hosts, SIGKILL one:
// the time until every document has a new change confirmed (lease TTL + recovery).
//
//   node bench/scenarios/shards.mjs [--docs 300] [--shards 12] [--producers 2] [--seconds 8] [--window 4] [--hosts 1,2,3] [--lease-ttl-ms 2000] [--smoke]
//
// Prints the table (markdown) on stdout; progress on stderr. No figure is asserted.
import os from 'node:os'
import { startEtcd } from '../lib/etcd.mjs'
import { spawnWorker, stopAll } from '../lib/proc.mjs'
import { sleep } from '../lib/worker.mjs'

const argv = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? Number(argv[i + 1]) : dflt
}
const smoke = argv.includes('--smoke')
const DOCS = opt('docs', smoke ? 30 : 300)
const SHARDS = opt('shards', 12)
const PRODUCERS = opt('producers', 2)
const SECONDS = opt('seconds', smoke ? 2 : 8)
const WINDOW = opt('window', 4)
const timing = { heartbeatMs: 250, peerTimeoutMs: 1500, leaseTtlMs: opt('lease-ttl-ms', 2000) }
const log = (...a) => process.stderr.write(`[shards] ${a.join(' ')}\n`)

const etcd = await startEtcd()
const results = []
let run = 0
try {
  const HOSTS = argv.includes('--hosts') ? argv[argv.indexOf('--hosts') + 1].split(',').map(Number) : [1, 2, 3]
  for (const H of HOSTS) {
    const prefix = `bench-${process.pid}-${++run}/`
    const common = { etcd: etcd.endpoint, prefix, ...timing }
    const hosts = []
    for (let i = 0; i < H; i++) hosts.push(await spawnWorker('shard-host', { ...common, shards: SHARDS }))
    // Every host leads what the live set assigns it (handovers after each join are done).
    for (;;) {
      const s = await Promise.all(hosts.map((h) => h.call('stats')))
      if (s.every((x) => x.hosts === H && x.led.length === x.assigned.length && x.led.every((k) => x.assigned.includes(k)))) break
      await sleep(100)
    }
    const producers = await Promise.all(Array.from({ length: PRODUCERS }, () => spawnWorker('shard-producer', common)))
    const ids = Array.from({ length: DOCS }, (_, i) => `d${i}`)
    const t0 = performance.now()
    await Promise.all(producers.map((p, i) => p.call('open', { ids: ids.filter((_, k) => k % PRODUCERS === i) }, 120_000)))
    const docsPerS = DOCS / ((performance.now() - t0) / 1000)
    log(`${H} host(s): ${DOCS} documents opened and confirmed at ${docsPerS.toFixed(0)}/s`)
    const before = await Promise.all(hosts.map((h) => h.call('stats')))
    const floods = await Promise.all(producers.map((p) => p.call('flood', { seconds: SECONDS, window: WINDOW }, SECONDS * 1000 + 60_000)))
    const after = await Promise.all(hosts.map((h) => h.call('stats')))
    const seq = after.reduce((n, s, i) => n + s.sequenced - before[i].sequenced, 0)
    const secs = (after[0].t - before[0].t) / 1e6
    const fragsPerS = seq / secs
    const lapses = after.reduce((n, s, i) => n + s.leaseLapses - before[i].leaseLapses, 0)
    if (lapses > 0) log(`${H} host(s): ${lapses} lease lapses during the flood (a root that could not renew in time steps down)`)
    const hostCpu = after.map((s, i) => (100 * (s.cpuUs - before[i].cpuUs)) / (s.t - before[i].t))
    const prodCpu = floods.map((f) => (100 * (f.m1.cpuUs - f.m0.cpuUs)) / (f.m1.t - f.m0.t))
    const byShard = floods.reduce((acc, f) => acc.map((n, k) => n + (f.byShard[k] ?? 0)), Array(SHARDS).fill(0))
    log(`${H} host(s): changes made per shard ${byShard.join(' ')}`)
    log(`${H} host(s): ${fragsPerS.toFixed(0)} fragments/s sequenced; host CPU ${hostCpu.map((c) => c.toFixed(0) + '%').join(' ')}; producer CPU ${prodCpu.map((c) => c.toFixed(0) + '%').join(' ')}`)
    const row = { hosts: H, docsPerS, fragsPerS, hostCpu, prodCpu, led: after.map((s) => s.led.length) }
    await Promise.all(producers.map((p) => p.call('settle', { timeoutMs: 60_000 })))
    if (H === 3) {
      const victim = hosts[1]
      const led = (await victim.call('stats')).led.length
      const killedAt = performance.now()
      await victim.kill('SIGKILL')
      const probes = await Promise.all(producers.map((p) => p.call('probe', { timeoutMs: 120_000 }, 150_000)))
      row.failover = { led, ms: performance.now() - killedAt, probeMs: probes.map((p) => p.ms) }
      log(`killed a host leading ${led} shards: every document confirmed a new change ${row.failover.ms.toFixed(0)} ms after the kill`)
      hosts.splice(1, 1)
    }
    results.push(row)
    await stopAll([...producers, ...hosts])
  }
} finally {
  etcd.stop()
}

const base = results[0]
const lines = [
  `| hosts | shards led per host | documents/s (open + first change) | fragments/s sequenced | × 1 host | host CPU (% of a core) | producer CPU | CPU of all these processes per fragment |`,
  '|---|---|---|---|---|---|---|---|',
  ...results.map(
    (r) =>
      `| ${r.hosts} | ${r.led.join(' / ')} | ${r.docsPerS.toFixed(0)} | ${r.fragsPerS.toFixed(0)} | ${(r.fragsPerS / base.fragsPerS).toFixed(2)}× | ${r.hostCpu.map((c) => c.toFixed(0)).join(' / ')} | ${r.prodCpu.map((c) => c.toFixed(0)).join(' / ')} | ${((10_000 * [...r.hostCpu, ...r.prodCpu].reduce((x, y) => x + y, 0)) / r.fragsPerS).toFixed(0)} µs |`,
  ),
]
const f = results.find((r) => r.failover)?.failover
if (f)
  lines.push(
    '',
    `SIGKILL of one of 3 hosts (it led ${f.led} of ${SHARDS} shards): every one of the ${DOCS} documents had a new change confirmed ${f.ms.toFixed(0)} ms after the kill (lease TTL ${timing.leaseTtlMs} ms, peer timeout ${timing.peerTimeoutMs} ms).`,
  )
lines.push(
  '',
  `${DOCS} documents, ${SHARDS} shards, ${PRODUCERS} producer processes, window ${WINDOW} per document, ${SECONDS} s flood; ${os.cpus().length} cores (${os.cpus()[0]?.model}), Node ${process.version}, ${new Date().toISOString()}.`,
)
console.log(lines.join('\n'))
