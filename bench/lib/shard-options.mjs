// What the shard-host and shard-producer workers give ShardedHost.start and Forest.start:
// etcd, prefix and lease from the scenario, and every shard endpoint on fresh tcp ports.
import { silentLogger } from '@zinc/core'

export function shardOptions(a, transport) {
  return {
    endpoints: [a.etcd],
    prefix: a.prefix,
    leaseTtlMs: a.leaseTtlMs,
    endpoint: () => ({
      transport,
      logger: silentLogger,
      bind: { inbound: 'tcp://127.0.0.1:*', outbound: 'tcp://127.0.0.1:*' },
      heartbeatMs: a.heartbeatMs,
      peerTimeoutMs: a.peerTimeoutMs,
      joinTimeoutMs: 60_000,
    }),
  }
}
