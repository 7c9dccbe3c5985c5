// One host of a sharded deployment (ShardedHost over zmq): bench/scenarios/shards.mjs.
import { ShardedHost } from '@zinc/coordinator-etcd'
import { ZmqTransport } from '@zinc/transport-zmq'
import { shardOptions } from '../lib/shard-options.mjs'
import { args, cpuMark, serve } from '../lib/worker.mjs'

const a = args()
let host
let transport

await serve(
  async () => {
    transport = new ZmqTransport()
    host = await ShardedHost.start({ ...shardOptions(a, transport), shards: a.shards })
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
