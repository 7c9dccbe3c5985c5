// One host of a sharded deployment (ShardedHost over zmq): bench/scenarios/shards.mjs.
import { silentLogger } from '@zinc/core'
import { ShardedHost } from '@zinc/coordinator-etcd'
import { ZmqTransport } from '@zinc/transport-zmq'
import { args, cpuMark, serve } from '../lib/worker.mjs'

const a = args()
let host
let transport

await serve(
  async () => {
    transport = new ZmqTransport()
    host = await ShardedHost.start({
      endpoints: [a.etcd],
      prefix: a.prefix,
      shards: a.shards,
      leaseTtlMs: a.leaseTtlMs,
      endpoint: () => ({
        transport,
        logger: silentLogger,
        bind: { inbound: 'tcp://127.0.0.1:*', outbound: 'tcp://127.0.0.1:*' },
        heartbeatMs: a.heartbeatMs,
        peerTimeoutMs: a.peerTimeoutMs,
        joinTimeoutMs: 60_000,
      }),
    })
    return { id: host.id }
  },
  {
    stats: () => {
      const s = host.stats()
      return { led: s.led, assigned: s.assigned, hosts: s.hosts.length, sequenced: s.totals.sequenced, leaseLapses: s.totals.leaseLapses, ...cpuMark() }
    },
    stop: async () => {
      await host.close()
      await transport.close()
    },
  },
)
