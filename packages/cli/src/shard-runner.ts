import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { EndpointAddresses, Logger, Storage } from '@zinc/core'
import type { ZmqTransport } from '@zinc/transport-zmq'
import type { Forest, ShardedHost } from '@zinc/coordinator-etcd'
import type { CoordinatorFlag } from './coordinator.js'
import { CliError } from './errors.js'
import type { StatsSnapshot } from './stats-server.js'
import { openStorage, storageOptions } from './storage.js'

/**
 * The host id kept in the data directory (`DIR/host-id`, written on the first run): etcd records
 * which host's store holds each document by host id, so a host restarted on its stores must come
 * back under the same id, or it would not recognise its own documents (their opens would wait
 * for a host that never returns).
 */
async function hostIdIn(data: string, fresh: string): Promise<string> {
  const file = join(data, 'host-id')
  try {
    const kept = (await readFile(file, 'utf8')).trim()
    if (kept) return kept
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new CliError(`--data: cannot read the host id in ${file} (${(error as Error).message}); fix its permissions, or remove it only if this host's stores go too.`)
  }
  await mkdir(data, { recursive: true })
  await writeFile(file, `${fresh}\n`)
  return fresh
}

/** The sharded host as `zinc host --shards N` runs it: what the runner prints, serves and closes. */
export interface RunningShards {
  id: string
  lines: string[]
  snapshot(started: number): StatsSnapshot
  /** Every shard this host leads, for the role shown in logs. */
  led(): number[]
  close(): Promise<void>
}

interface EtcdShardsModule {
  ShardedHost?: typeof ShardedHost
  Forest?: typeof Forest
}

async function loadModule(flag: string): Promise<EtcdShardsModule> {
  try {
    return (await import('@zinc/coordinator-etcd')) as EtcdShardsModule
  } catch (error) {
    throw new CliError(`${flag} needs the @zinc/coordinator-etcd package, which could not be loaded (${(error as Error).message}). Run \`npm ci\` at the repository root.`)
  }
}

/** Refuses a `--bind` that cannot give each shard its own pair of addresses. */
function checkShardBind(bind: EndpointAddresses, shards: number, flag: string): void {
  if (shards > 1 && !/:\*$/.test(bind.inbound) && shardBind(bind, shards - 1).inbound === bind.inbound)
    throw new CliError(`${flag} binds one address pair per shard: give tcp ports (fixed ports step by two per shard) or tcp://HOST:*,* for fresh ones, not ${bind.inbound}.`)
}

/**
 * Shard `shard`'s addresses from `--bind`: fresh ports stay fresh (`*`); fixed ports step by two
 * per shard (7000,7001 → shard 1 on 7002,7003), so a firewall rule can name the range.
 */
export function shardBind(bind: EndpointAddresses, shard: number): EndpointAddresses {
  const step = (address: string, by: number) => address.replace(/:(\d+)$/, (_, port: string) => `:${Number(port) + by}`)
  return { inbound: step(bind.inbound, shard * 2), outbound: step(bind.outbound, shard * 2) }
}

export interface ShardsConfig {
  coordinator: CoordinatorFlag
  shards: number
  bind: EndpointAddresses
  data?: string
  leaseTtlMs?: number
  id: string
  transport: ZmqTransport
  logger: Logger
  endpointOptions: Record<string, unknown>
}

/** Starts a sharded host: one endpoint per shard, each in its shard's election on etcd. */
export async function startShards(config: ShardsConfig): Promise<RunningShards> {
  const mod = await loadModule('--shards')
  if (!mod.ShardedHost) throw new CliError('--shards: this build of @zinc/coordinator-etcd does not export ShardedHost; rebuild with `npx tsc -b`.')
  checkShardBind(config.bind, config.shards, `--shards ${config.shards}`)
  const stores: Storage[] = []
  const storeFor = async (shard: number) => {
    if (config.data === undefined) return undefined
    const { storage } = await openStorage(`${config.data}/shard-${shard}`)
    stores.push(storage)
    return storage
  }
  const storages: Array<Storage | undefined> = []
  for (let shard = 0; shard < config.shards; shard++) storages.push(await storeFor(shard))
  let host: ShardedHost
  try {
    host = await mod.ShardedHost.start({
      ...config.coordinator,
      ...(config.leaseTtlMs !== undefined ? { leaseTtlMs: config.leaseTtlMs } : {}),
      shards: config.shards,
      id: config.data === undefined ? config.id : await hostIdIn(config.data, config.id),
      endpoint: (shard: number) => ({
        ...config.endpointOptions,
        transport: config.transport,
        logger: config.logger,
        bind: shardBind(config.bind, shard),
        ...storageOptions(storages[shard]),
      }),
    })
  } catch (error) {
    await Promise.all(stores.map((s) => s.close()))
    throw error
  }
  const lines = [`shards:   ${config.shards}, this host leads ${describe(host.led())} (etcd assigns them over the live hosts)`]
  for (let shard = 0; shard < config.shards; shard++) {
    const a = host.endpoint(shard).addresses
    lines.push(`shard ${String(shard).padStart(2)}: ${a.inbound},${a.outbound}`)
  }
  return {
    id: host.id,
    lines,
    led: () => host.led(),
    snapshot: (started) => {
      const s = host.stats()
      const first = host.endpoint(0)
      return {
        endpoint: s.host,
        role: s.led.length > 0 ? 'host' : 'client',
        epoch: Math.max(...s.endpoints.map((e) => e.epoch)),
        addresses: first.addresses,
        peers: [],
        uptimeSeconds: Math.round((Date.now() - started) / 1000),
        time: new Date().toISOString(),
        stats: s.totals,
        shards: { count: s.shards, led: s.led, assigned: s.assigned, hosts: s.hosts, endpoints: s.endpoints.map((e) => ({ ...e, addresses: host.endpoint(e.shard).addresses })) },
      }
    },
    close: async () => {
      await host.close()
      await Promise.all(stores.map((s) => s.close()))
    },
  }
}

function describe(shards: number[]): string {
  return shards.length ? `${shards.length}: ${shards.join(', ')}` : 'none yet'
}

/** What `zinc relay --coordinator etcd://…` needs: no shard count (the hosts wrote it). */
export type RelayShardsConfig = Omit<ShardsConfig, 'shards' | 'data' | 'id'>

/**
 * A sharded relay: a Forest with an endpoint in every shard's tree (each following that
 * shard's root, each binding its own addresses for children). A child joins the relay's
 * endpoint of its document's shard (`shard k:` in what this prints).
 */
export async function startShardRelay(config: RelayShardsConfig): Promise<RunningShards> {
  const mod = await loadModule('zinc relay --coordinator')
  if (!mod.Forest) throw new CliError('zinc relay --coordinator: this build of @zinc/coordinator-etcd does not export Forest; rebuild with `npx tsc -b`.')
  const forest = await mod.Forest.start({
    ...config.coordinator,
    ...(config.leaseTtlMs !== undefined ? { leaseTtlMs: config.leaseTtlMs } : {}),
    endpoint: (shard: number) => ({ ...config.endpointOptions, transport: config.transport, logger: config.logger, bind: shardBind(config.bind, shard) }),
  })
  try {
    checkShardBind(config.bind, forest.shards, 'zinc relay --coordinator')
    await Promise.all(Array.from({ length: forest.shards }, (_, shard) => forest.endpoint(shard)))
  } catch (error) {
    await forest.close()
    throw error
  }
  const endpoints = () => [...forest.endpoints].sort(([a], [b]) => a - b)
  const lines = [`shards:   ${forest.shards} (a child joins this relay's endpoint of its document's shard)`]
  for (const [shard, e] of endpoints()) lines.push(`shard ${String(shard).padStart(2)}: ${e.addresses.inbound},${e.addresses.outbound}`)
  return {
    id: endpoints()[0]![1].id,
    lines,
    led: () => [],
    snapshot: (started) => {
      const all = endpoints()
      const stats = all.map(([, e]) => e.stats())
      return {
        endpoint: all[0]![1].id,
        role: 'relay',
        epoch: Math.max(...all.map(([, e]) => e.epoch)),
        addresses: all[0]![1].addresses,
        peers: [],
        uptimeSeconds: Math.round((Date.now() - started) / 1000),
        time: new Date().toISOString(),
        stats: forest.totals()!,
        shards: {
          count: forest.shards,
          led: [],
          assigned: [],
          hosts: [],
          endpoints: all.map(([shard, e], i) => ({ shard, role: e.role, epoch: e.epoch, docs: Object.keys(stats[i]!.docs).length, addresses: e.addresses })),
        },
      }
    },
    close: () => forest.close(),
  }
}
