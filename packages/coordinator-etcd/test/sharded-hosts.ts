import { consoleLogger, MemoryStorage, type Logger } from '@zinc/core'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { afterEach } from 'vitest'
import { assignShards, Forest, ShardedHost } from '../src/index.js'
import { EtcdLink, type etcdFixture } from './etcd-server.js'

/**
 * Hosts and forests of documents sharded on a real etcd, for the sharded tests: each host has
 * one coordinated endpoint per shard on an in-process network and reaches etcd through its own
 * cuttable link. `shardedHosts(etcdServer)` registers the cleanup of everything started.
 */

export type Log = { log: string[] }
export const TIMING = { heartbeatMs: 100, peerTimeoutMs: 1000, resendMs: 300, joinTimeoutMs: 30_000 } as const
export const TTL_MS = 2000
export const SHARDS = 12
/** ZINC_LOG=info (or debug) prints every endpoint's log, named host/shard. */
const log = (name: string, shard: number) => (process.env.ZINC_LOG ? { logger: consoleLogger(process.env.ZINC_LOG as 'info', { name: `${name}/${shard}` }) } : {})

export interface Host {
  name: string
  host: ShardedHost
  link: EtcdLink
}

/** Every shard led by exactly the live host the assignment names. */
export function settledOn(hosts: Host[]): boolean {
  const owners = assignShards(
    SHARDS,
    hosts.map((h) => h.name),
  )
  return owners.every((owner, shard) => hosts.every((h) => h.host.led().includes(shard) === (h.name === owner)))
}

let prefixes = 0
/** A fresh etcd prefix per test: tests share one etcd. */
export const newPrefix = (): string => `zinc-shards-${process.pid}-${++prefixes}/`

export function shardedHosts(etcdServer: ReturnType<typeof etcdFixture>) {
  const cleanups: Array<() => Promise<unknown>> = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) {
      const t = Date.now()
      await c().catch(() => {})
      if (Date.now() - t > 1000) console.log(`[shards] cleanup took ${Date.now() - t} ms: ${c.toString().slice(0, 80)}`)
    }
  })

  /**
   * `stores`: one storage per shard (kept by the caller across a restart). `node`: its process on
   * the network, when not `name` (a host restarted after `network.kill(name)` is a new process).
   */
  async function startHost(network: InprocNetwork, prefix: string, name: string, stores?: MemoryStorage[], logger?: Logger, node = name): Promise<Host> {
    const link = await EtcdLink.to(etcdServer.server)
    cleanups.push(() => link.close())
    const transport = new InprocTransport(network, { node })
    const host = await ShardedHost.start({
      endpoints: [link.endpoint],
      prefix,
      leaseTtlMs: TTL_MS,
      shards: SHARDS,
      id: name,
      endpoint: (shard) => ({
        ...TIMING,
        ...log(name, shard),
        ...(logger ? { logger } : {}),
        ...(stores ? { storage: stores[shard]! } : {}),
        transport,
        bind: { inbound: network.uniqueAddress(`${node}-${shard}-in`), outbound: network.uniqueAddress(`${node}-${shard}-out`) },
      }),
    })
    cleanups.push(() => host.close())
    return { name, host, link }
  }

  async function startForest(network: InprocNetwork, prefix: string, name: string): Promise<Forest> {
    const transport = new InprocTransport(network, { node: name })
    const forest = await Forest.start({
      endpoints: [etcdServer.server.endpoint],
      prefix,
      leaseTtlMs: TTL_MS,
      endpoint: (shard) => ({ ...TIMING, ...log(name, shard), transport, bind: { inbound: network.uniqueAddress(`${name}-${shard}-in`), outbound: network.uniqueAddress(`${name}-${shard}-out`) } }),
    })
    cleanups.push(() => forest.close())
    return forest
  }

  return { cleanups, startHost, startForest }
}
