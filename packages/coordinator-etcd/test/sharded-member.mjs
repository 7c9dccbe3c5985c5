/**
 * One sharded host as its own process, for the sharded pause test (SIGSTOP is per process).
 *   node sharded-member.mjs --name h0 --etcd 127.0.0.1:2379 --prefix zinc-x/ --ttl 2000 --shards 4
 * JSON lines on stdout:
 *   ready {name, led}    role {name, shard, role, epoch, t}
 *   seen {name, shard, epoch, sequenced, t, afterGap}: this host's endpoint of `shard` sequenced
 *     (confirmed) changes since the last sample, at `epoch`
 *   report {name, led, assigned, hosts, endpoints: [{shard, role, epoch, docs}]}
 * stdin: `report`, `stop`.
 */
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { consoleLogger } from '@zinc/core'
import { ZmqTransport } from '@zinc/transport-zmq'
import { ShardedHost } from '../dist/index.js'

const { values: args } = parseArgs({
  options: { name: { type: 'string' }, etcd: { type: 'string' }, prefix: { type: 'string' }, ttl: { type: 'string', default: '2000' }, shards: { type: 'string', default: '4' } },
})
const name = args.name
const out = (line) => process.stdout.write(`${JSON.stringify({ ...line, name })}\n`)
const transport = new ZmqTransport()
const host = await ShardedHost.start({
  endpoints: [args.etcd],
  prefix: args.prefix,
  leaseTtlMs: Number(args.ttl),
  shards: Number(args.shards),
  id: name,
  endpoint: (shard) => ({
    transport,
    bind: { inbound: 'tcp://127.0.0.1:*', outbound: 'tcp://127.0.0.1:*' },
    heartbeatMs: 100,
    peerTimeoutMs: 1500,
    joinTimeoutMs: 30_000,
    ...(process.env.ZINC_LOG ? { logger: consoleLogger(process.env.ZINC_LOG, { name: `${name}/${shard}` }) } : {}),
  }),
})
const endpoints = Array.from({ length: host.shards }, (_, shard) => host.endpoint(shard))
endpoints.forEach((endpoint, shard) => endpoint.on('role', (role) => out({ type: 'role', shard, role, epoch: endpoint.epoch, t: Date.now() })))
// What each shard endpoint sequenced itself (stats().sequenced counts only that), sampled every
// 10 ms: each rise is a confirmation given since the last sample. The first sample after a gap
// (the process was stopped) cannot tell whether it was sequenced before the stop or after it, so
// it says so (`afterGap`); timers run before any input is read after a SIGCONT.
const sequenced = endpoints.map(() => 0)
let lastSample = Date.now()
setInterval(() => {
  const t = Date.now()
  const afterGap = t - lastSample > 200
  lastSample = t
  endpoints.forEach((endpoint, shard) => {
    const now = endpoint.stats().sequenced
    if (now > sequenced[shard]) out({ type: 'seen', shard, epoch: endpoint.epoch, sequenced: now, t, afterGap })
    sequenced[shard] = now
  })
}, 10).unref()

createInterface({ input: process.stdin }).on('line', (line) => {
  const command = line.trim()
  if (command === 'report') {
    const stats = host.stats()
    out({ type: 'report', led: stats.led, assigned: stats.assigned, hosts: stats.hosts, endpoints: stats.endpoints })
  } else if (command === 'stop')
    void host
      .close()
      .then(() => transport.close())
      .then(() => process.exit(0))
})
process.stdin.once('end', () => process.exit(0))
out({ type: 'ready', led: host.led() })
