// Failover with the root elected on etcd against the embedded succession (issue 18), back to
// back on the same machine: scenarios/failover.mjs's kill (SIGKILL of the root, 4 bound
// survivors editing, time until all are synced on the new root) N times each way.
//
//   node bench/scenarios/failover-etcd.mjs [--n 5] [--lease-ttl-ms 2000]
//
// Prints a markdown table on stdout; progress on stderr.
import os from 'node:os'
import { startEtcd } from '../lib/etcd.mjs'
import { median } from '../lib/stats.mjs'
import { once } from './failover.mjs'

const argv = process.argv.slice(2)
const opt = (name, dflt) => (argv.includes(`--${name}`) ? Number(argv[argv.indexOf(`--${name}`) + 1]) : dflt)
const N = opt('n', 5)
const TTL = opt('lease-ttl-ms', 2000)
const log = (...a) => process.stderr.write(`[failover-etcd] ${a.join(' ')}\n`)

const etcd = await startEtcd()
const rows = []
try {
  for (const [label, timing] of [
    ['fast (heartbeat 100 / timeout 500 ms)', { heartbeatMs: 100, peerTimeoutMs: 500 }],
    ['default (heartbeat 250 / timeout 1500 ms)', {}],
  ]) {
    for (const mode of ['embedded', `etcd, lease ${TTL} ms`]) {
      const runs = []
      for (let i = 0; i < N; i++) {
        const r = await once({ ...timing, ...(mode === 'embedded' ? {} : { etcd: { endpoint: etcd.endpoint, prefix: `bench-failover-${process.pid}-${label.length}-${i}/`, leaseTtlMs: TTL } }) })
        log(`${label}, ${mode} ${i + 1}/${N}: ${r.ok ? `synced after ${r.syncedMs.toFixed(0)} ms (first host ${r.firstHostMs.toFixed(0)} ms)` : `NOT synced ${JSON.stringify(r.last)}`}`)
        runs.push(r)
      }
      const ok = runs.filter((r) => r.ok)
      rows.push({ label, mode, ok: ok.length, n: N, median: median(ok.map((r) => r.syncedMs)), worst: Math.max(...ok.map((r) => r.syncedMs)), firstHost: median(ok.map((r) => r.firstHostMs)) })
    }
  }
} finally {
  etcd.stop()
}
const ms = (v) => (Number.isFinite(v) ? `${v.toFixed(0)} ms` : '—')
console.log(
  [
    '| settings | root decided by | kill → all survivors synced, median | worst | kill → first survivor is host, median | synced runs |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.label} | ${r.mode} | ${ms(r.median)} | ${ms(r.worst)} | ${ms(r.firstHost)} | ${r.ok}/${r.n} |`),
    '',
    `${os.cpus().length} cores (${os.cpus()[0]?.model}), Node ${process.version}, load average at the end ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ')}, ${new Date().toISOString()}.`,
  ].join('\n'),
)
