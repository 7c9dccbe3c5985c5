import { DEFAULTS, Endpoint, newEndpointId, silentLogger, type AccessRequest, type Logger, type EndpointOptions, type EndpointStats, type Verdict } from '@zinc/core'
import type { Etcd3 } from 'etcd3'
import { connectEtcd } from './connect.js'
import { EtcdCoordinator } from './etcd-coordinator.js'
import type { EtcdCoordinatorOptions } from './election-options.js'
import { ClaimingStorage } from './claiming-storage.js'
import { DocumentRecords } from './doc-records.js'
import { HostRegistry } from './registry.js'
import { ShardLends } from './shard-lends.js'
import { checkShardCount, shardCount } from './shard-config.js'
import { assignShards, shardOf } from './shard-map.js'
import { sumStats } from './sum-stats.js'

/** Endpoint options of one shard's endpoint on a host (it binds; the coordinator is set here). */
export type ShardEndpointOptions = Omit<EndpointOptions, 'coordinator' | 'join'>

/** Options of {@link ShardedHost.start}. */
export interface ShardedHostOptions extends EtcdCoordinatorOptions {
  /**
   * How many shards the deployment's documents are spread over (each a tree with its own root).
   * Fixed for a prefix: the first host writes it to etcd and every later host must agree. A few
   * per host leave room to spread evenly when hosts come and go (e.g. 4 × the most hosts).
   */
  shards: number
  /**
   * This host's id in etcd (default: a fresh UUID). Shards follow it: keep it across restarts.
   * Required with a store (`storage` in `endpoint`): etcd records which host's store holds each
   * document by this id.
   */
  id?: string
  /** The options of shard `shard`'s endpoint: transport, `bind` (its own addresses), storage, hooks. */
  endpoint: (shard: number) => ShardEndpointOptions
}

/** What {@link ShardedHost.stats} reports. */
export interface ShardedHostStats {
  host: string
  shards: number
  /** The shards this host leads now (its endpoint for them is root). */
  led: number[]
  /** The shards the live set assigns to this host (led once handed over or recovered). */
  assigned: number[]
  /** The live hosts, as etcd lists them. */
  hosts: string[]
  /** Per shard: this host's endpoint's role, epoch and documents. */
  endpoints: Array<{ shard: number; role: string; epoch: number; docs: number }>
  /** Every shard endpoint's counters, summed (docs merged). */
  totals: EndpointStats
}

/**
 * A host of a sharded deployment: documents are spread over `shards` shards (by a hash of their
 * id), each shard is a tree of its own, and the live hosts (registered in etcd with a lease)
 * share the shards' roots, as evenly as they can (rendezvous hashing with bounded loads).
 *
 * It is a composition, not a new kind of endpoint: one coordinated `Endpoint` per shard, each
 * in that shard's etcd election. An endpoint stands only while the live set assigns its shard
 * to this host. When a host joins, the shards that move to it are handed over: the old root
 * stops acknowledging, steps down and gives its key up; the new one leads at a new epoch and
 * recovers from the old one (which re-joins it as a client) and from the shard's other members.
 * When a host dies, its keys expire with its lease, and the new owners recover as after any
 * failover: from the survivors (the forests and relays that had the documents open).
 */
export class ShardedHost {
  readonly #endpoints: Endpoint[] = []
  readonly #coordinators: EtcdCoordinator[] = []
  #assignment: string[] = []
  #closed = false

  readonly #registry: HostRegistry
  /** Shards lent to the host whose store holds a document their owner cannot serve (shard-lends.ts). */
  readonly #lends: ShardLends
  /** When this host began leading each shard lent to it (it gives the shard back some time after). */
  readonly #lentSince = new Map<number, number>()
  #lendTimer: ReturnType<typeof setInterval> | undefined
  readonly #client: Etcd3
  readonly #logger: Logger
  /** This run of the host: when it registered (a restart under the same id is another run). */
  readonly #incarnation: string
  /** The shard endpoints' peer timeout and join timeout: how long a handover may take. */
  readonly #timing: { peerTimeoutMs: number; joinTimeoutMs: number }

  private constructor(
    readonly id: string,
    readonly shards: number,
    readonly prefix: string,
    registry: HostRegistry,
    client: Etcd3,
    base: ShardEndpointOptions,
    incarnation: string,
  ) {
    this.#incarnation = incarnation
    this.#registry = registry
    const peerTimeoutMs = base.peerTimeoutMs ?? DEFAULTS.peerTimeoutMs
    this.#lends = new ShardLends(client, prefix, Math.max(250, peerTimeoutMs), 3000, () => this.#reassign())
    this.#client = client
    this.#logger = base.logger ?? silentLogger
    this.#timing = { peerTimeoutMs: base.peerTimeoutMs ?? DEFAULTS.peerTimeoutMs, joinTimeoutMs: base.joinTimeoutMs ?? DEFAULTS.joinTimeoutMs }
  }

  /** The ids of the live hosts, as etcd lists them. */
  hosts(): string[] {
    return this.#registry.live().sort()
  }

  /**
   * Connects to etcd (an `EtcdUnreachableError` naming it otherwise), registers, and starts every
   * shard's endpoint; resolves once each leads or has joined its shard's root.
   */
  static async start(options: ShardedHostOptions): Promise<ShardedHost> {
    const shards = checkShardCount(options.shards)
    const prefix = options.prefix ?? 'zinc/'
    const ttlSeconds = Math.max(1, Math.ceil((options.leaseTtlMs ?? 5000) / 1000))
    const client = await connectEtcd(options.endpoints, options.dialTimeoutMs ?? 3000)
    const id = options.id ?? newEndpointId()
    let host: ShardedHost | undefined
    try {
      await shardCount(client, prefix, shards)
      const base = options.endpoint(0)
      if (options.id === undefined && base.storage)
        throw new TypeError(
          'ShardedHost.start: a host with a store needs a stable `id`, the same after a restart: etcd records which host stores each document by that id, and a restarted host under a new one would not find its own documents (their opens would wait for the old id). Pass `id` (zinc host keeps it in the --data directory).',
        )
      const logger = base.logger ?? silentLogger
      let changed = () => {}
      const since = Date.now()
      const registry = new HostRegistry(client, prefix, ttlSeconds, logger, () => changed(), { id, since, joining: true })
      const h = new ShardedHost(id, shards, prefix, registry, client, base, String(since))
      host = h
      changed = () => h.#reassign()
      await registry.start()
      await h.#lends.start()
      host.#assignment = host.#assign()
      // Joining: every endpoint first follows its shard's current root (or, in an empty
      // deployment, leads it); then the host takes its share, by handover from roots it follows.
      await Promise.all(Array.from({ length: shards }, (_, shard) => host!.#startShard(shard, options)))
      await registry.ready()
      host.#reassign()
      host.#lendTimer = setInterval(() => host!.#giveBackLent(), host.#timing.peerTimeoutMs)
      return host
    } catch (error) {
      if (host) await host.close()
      else client.close()
      throw error
    }
  }

  async #startShard(shard: number, options: ShardedHostOptions): Promise<void> {
    const base = options.endpoint(shard)
    const shardPrefix = `${this.prefix}shards/${shard}/`
    // Which host's store holds each document's latest copy: with per-host stores, a document
    // open nowhere is only in one store, and another host must not create it anew (doc-records.ts).
    const records = new DocumentRecords(
      this.#client,
      shardPrefix,
      `shard ${shard}`,
      this.id,
      (h) => this.#registry.has(h),
      base.logger ?? silentLogger,
      options.dialTimeoutMs ?? 3000,
      // A running host holds it but does not lead the shard: lend the shard to it (shard-lends.ts).
      (holder) => {
        // Not to the host that just handed the shard to us: what it stores comes with the handover.
        if (!this.#registry.live().includes(holder) || this.#lends.get(shard) !== undefined || this.#coordinators[shard]?.handedOverBy === holder) return
        this.#logger.warn({ shard, holder }, 'lending the shard to the host whose store holds a document it cannot serve here; it gives the shard back once it has served it')
        void this.#lends.lend(shard, holder).catch((error: unknown) => this.#logger.warn({ err: error, shard }, 'lending the shard failed; the next open of the document tries again'))
      },
    )
    const coordinator = new EtcdCoordinator(
      { ...options, prefix: shardPrefix },
      {
        client: this.#client,
        stand: () => !this.#closed && !this.#leaving && this.#assignment[shard] === this.id,
        host: this.id,
        incarnation: this.#incarnation,
        stores: base.storage !== undefined,
        // Registered, and the same run (a host restarted under its id hands nothing over).
        alive: (h, incarnation) => this.#registry.has(h) && (incarnation === undefined || String(this.#registry.get(h)?.since) === incarnation),
        owns: (doc) => shardOf(doc, this.shards) === shard,
        records,
      },
    )
    this.#coordinators[shard] = coordinator
    const authorize = base.authorize
    const endpoint = await Endpoint.start({
      ...base,
      ...(base.storage ? { storage: new ClaimingStorage(base.storage, records) } : {}),
      coordinator,
      // A document of another shard opened here is refused by name (the opener routed it wrong).
      authorize: (request: AccessRequest): Verdict | Promise<Verdict> => {
        const home = shardOf(request.doc, this.shards)
        if (home !== shard) return `document "${request.doc}" belongs to shard ${home}, and this is shard ${shard}'s tree: open it through a Forest (it routes each document to its shard)`
        return authorize ? authorize(request) : true
      },
    })
    this.#endpoints[shard] = endpoint
    if (this.#closed) await endpoint.close()
  }

  /** The live set changed: recompute who leads what, and stand or withdraw accordingly. */
  #reassign(): void {
    if (this.#closed) return
    // Until our own registration is visible, the set is not ours to act on.
    if (!this.#registry.has(this.id)) return
    this.#assignment = this.#assign()
    for (const c of this.#coordinators) void c?.restand()
  }

  #leaving = false

  /**
   * Before closing: marks this host leaving (still registered, so a handover, not a failover),
   * lets the others take its shards, re-joins each new root as a client so it recovers every
   * document from us, and waits out that recovery (at most two peer timeouts from promotion).
   * Bounded by joinTimeoutMs; skipped when no other host is live.
   */
  async #handOver(): Promise<void> {
    // Only what we certainly still lead: a host cut off from etcd has nothing to hand over
    // (its shards move as after a death).
    const led = this.led().filter((shard) => this.#coordinators[shard]!.mayConfirm())
    if (led.length === 0 || this.#registry.live().every((h) => h === this.id)) return
    this.#leaving = true
    if (!(await this.#registry.leave())) return
    const deadline = Date.now() + this.#timing.joinTimeoutMs
    const handed = () => led.every((shard) => this.#endpoints[shard]!.role !== 'host' && this.#endpoints[shard]!.connected)
    while (!handed() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    if (!handed()) return this.#logger.warn({ shards: led }, 'the shards were not all taken over in time; closing anyway (the next owners recover from the other survivors)')
    await new Promise((r) => setTimeout(r, this.#timing.peerTimeoutMs * 2))
  }

  /** Over the live hosts; while none is (the first host is still joining), over this one. */
  #assign(): string[] {
    const live = this.#registry.live()
    const owners = assignShards(this.shards, live.length > 0 ? live : [this.id])
    // A shard lent to a live host is its for now (every host reads the same lends).
    for (const [shard, host] of this.#lends.entries()) if (shard < owners.length && live.includes(host)) owners[shard] = host
    return owners
  }

  /**
   * Gives back each shard lent to this host once it has led it for two recovery windows (it then
   * serves the documents it stores; the handover back passes them on to the owner).
   */
  #giveBackLent(): void {
    if (this.#closed) return
    const now = Date.now()
    for (const [shard, host] of [...this.#lends.entries()]) {
      if (host !== this.id || !this.led().includes(shard)) {
        this.#lentSince.delete(shard)
        continue
      }
      const since = this.#lentSince.get(shard) ?? now
      this.#lentSince.set(shard, since)
      if (now - since < this.#timing.peerTimeoutMs * 4) continue
      this.#lentSince.delete(shard)
      this.#logger.info({ shard }, 'giving back a shard lent to this host for the documents only its store held')
      void this.#lends.giveBack(shard, this.id).catch((error: unknown) => this.#logger.warn({ err: error, shard }, 'giving a lent shard back failed; trying again'))
    }
  }

  /** The shards this host leads now. */
  led(): number[] {
    // Elected and not lapsed (a root that stepped down keeps the role 'host' until it joins).
    return this.#endpoints.flatMap((e, shard) => (e?.role === 'host' && this.#coordinators[shard]?.leading ? [shard] : []))
  }

  /** The shards the current live set assigns to this host. */
  assigned(): number[] {
    return this.#assignment.flatMap((h, shard) => (h === this.id ? [shard] : []))
  }

  /** This host's endpoint of `shard`. */
  endpoint(shard: number): Endpoint {
    const e = this.#endpoints[shard]
    if (!e) throw new RangeError(`This host has no endpoint for shard ${shard} (it has ${this.shards}: 0 … ${this.shards - 1}).`)
    return e
  }

  /** The shards led and assigned, the live hosts, each shard endpoint, and their counters summed. */
  stats(): ShardedHostStats {
    const endpoints = this.#endpoints.map((e, shard) => ({ shard, role: e.role, epoch: e.epoch, docs: Object.keys(e.stats().docs).length }))
    return {
      host: this.id,
      shards: this.shards,
      led: this.led(),
      assigned: this.assigned(),
      hosts: this.hosts(),
      endpoints,
      totals: sumStats(this.#endpoints.map((e) => e.stats())),
    }
  }

  /**
   * Leaves: every shard this host leads is handed over at once (its candidacy is revoked, so
   * the next owner leads without waiting for a lease), then etcd forgets the host.
   */
  async close(): Promise<void> {
    if (this.#closed || this.#leaving) return
    await this.#handOver().catch((error: unknown) => this.#logger.warn({ err: error }, 'handing the shards over before closing failed; closing anyway'))
    this.#closed = true
    clearInterval(this.#lendTimer)
    await this.#lends.close()
    await this.#registry.close()
    await Promise.all(this.#endpoints.map((e) => e?.close()))
    this.#client.close()
  }
}
