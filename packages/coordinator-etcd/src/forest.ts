import { ClosedError, Endpoint, type Document, type EndpointStats, type OpenOptions } from '@zinc/core'
import type { Etcd3 } from 'etcd3'
import { connectEtcd } from './connect.js'
import { EtcdCoordinator } from './etcd-coordinator.js'
import type { EtcdCoordinatorOptions } from './election-options.js'
import { shardCount } from './shard-config.js'
import { shardOf } from './shard-map.js'
import { sumStats } from './sum-stats.js'
import type { ShardEndpointOptions } from './sharded-host.js'

/** Options of {@link Forest.start}. */
export interface ForestOptions extends EtcdCoordinatorOptions {
  /** The options of this forest's endpoint for shard `shard`: transport, `bind`, logger, hooks. */
  endpoint: (shard: number) => ShardEndpointOptions
  /** How long to wait for a host to have written the shard count. Default 10000. */
  configTimeoutMs?: number
}

/**
 * The client side of a sharded deployment: opens each document in its shard's tree. One
 * endpoint per shard it needs (started on the first document of that shard), each following
 * that shard's root as etcd names it: a new root after a handover or a failover is joined at
 * once, and what the endpoint holds goes to it (its documents are a survivor's for the new
 * root's recovery). The endpoints never stand for election. A relay is the same: its children
 * join the forest's endpoint of their document's shard (`forest.endpoint(shard).addresses`), so
 * each shard's tree passes through it on its own — one upstream per shard, a forest of trees.
 */
export class Forest {
  readonly #starting = new Map<number, Promise<Endpoint>>()
  readonly #endpoints = new Map<number, Endpoint>()
  #closed = false

  readonly #client: Etcd3
  readonly #options: ForestOptions

  private constructor(
    readonly shards: number,
    client: Etcd3,
    options: ForestOptions,
  ) {
    this.#client = client
    this.#options = options
  }

  /** Connects to etcd and learns the shard count (written by the first host). */
  static async start(options: ForestOptions): Promise<Forest> {
    const client = await connectEtcd(options.endpoints, options.dialTimeoutMs ?? 3000)
    try {
      const shards = await shardCount(client, options.prefix ?? 'zinc/', undefined, options.configTimeoutMs)
      return new Forest(shards, client, options)
    } catch (error) {
      client.close()
      throw error
    }
  }

  /** The shard of a document. */
  shardOf(doc: string): number {
    return shardOf(doc, this.shards)
  }

  /** This forest's endpoint in `shard`'s tree, started (and joined to its root) on first use. */
  endpoint(shard: number): Promise<Endpoint> {
    if (this.#closed) return Promise.reject(new ClosedError('Forest'))
    if (!Number.isInteger(shard) || shard < 0 || shard >= this.shards) return Promise.reject(new RangeError(`Shard ${shard} does not exist: there are ${this.shards} (0 … ${this.shards - 1}).`))
    let starting = this.#starting.get(shard)
    if (!starting) {
      const coordinator = new EtcdCoordinator({ ...this.#options, prefix: `${this.#options.prefix ?? 'zinc/'}shards/${shard}/` }, { client: this.#client, stand: () => false })
      starting = Endpoint.start({ ...this.#options.endpoint(shard), coordinator }).then(async (e) => {
        if (this.#closed) {
          await e.close()
          throw new ClosedError('Forest')
        }
        this.#endpoints.set(shard, e)
        return e
      })
      // A failed start may be tried again by the next open.
      starting.catch(() => this.#starting.delete(shard))
      this.#starting.set(shard, starting)
    }
    return starting
  }

  /** Opens a document in its shard's tree; the same as `Endpoint.open` otherwise. */
  async open<S extends object = Record<string, unknown>, P = unknown>(doc: string, options?: OpenOptions<S>): Promise<Document<S, P>> {
    const endpoint = await this.endpoint(this.shardOf(doc))
    return endpoint.open<S, P>(doc, options)
  }

  /** The shards this forest has an endpoint in, and those endpoints. */
  get endpoints(): ReadonlyMap<number, Endpoint> {
    return this.#endpoints
  }

  /** Each endpoint's counters, by shard. */
  stats(): Record<number, EndpointStats> {
    return Object.fromEntries([...this.#endpoints].map(([shard, e]) => [shard, e.stats()]))
  }

  /** Every endpoint's counters summed (documents merged); undefined before the first endpoint. */
  totals(): EndpointStats | undefined {
    const all = [...this.#endpoints.values()].map((e) => e.stats())
    return all.length > 0 ? sumStats(all) : undefined
  }

  /** Closes every endpoint (each leaves its shard's tree) and the etcd client. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await Promise.all([...this.#starting.values()].map((p) => p.then((e) => e.close()).catch(() => {})))
    this.#client.close()
  }
}
