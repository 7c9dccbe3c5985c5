import type { Logger } from '@zinc/core'
import type { Etcd3, IKeyValue, Lease } from 'etcd3'
import { WatchedPrefix } from './watched-prefix.js'

/** What a host registers (each shard's root writes its own addresses into its leader key). */
export interface HostRecord {
  id: string
  /** The host is handing its shards over before it closes: alive, but assigned nothing. */
  leaving?: boolean
  /**
   * The host is starting: its endpoints first join every shard's current root, and only then is
   * it assigned shards, so each one it takes is handed over from a root it already follows.
   */
  joining?: boolean
  /** When the host registered (ms since the epoch), for `zinc stats`. */
  since: number
}

/**
 * The live hosts of a sharded deployment, as etcd knows them: each host puts
 * `<prefix>hosts/<id>` bound to its own lease, so a host that dies (or is cut off from etcd
 * for a whole TTL) leaves the set when etcd expires it. Every host and forest watches the set;
 * the shard assignment is a function of it (assignShards).
 */
export class HostRegistry {
  readonly #hosts = new Map<string, HostRecord>()
  #lease: Lease | undefined
  readonly #keys: WatchedPrefix
  #closed = false
  #registering: Promise<void> | undefined

  constructor(
    readonly client: Etcd3,
    readonly prefix: string,
    readonly ttlSeconds: number,
    readonly logger: Logger,
    /** The live set changed (a host joined, left or died). */
    readonly changed: () => void,
    /** This host's record, or none for a forest (it only watches). */
    readonly self?: HostRecord,
  ) {
    // A safety net under the watch: a poll every quarter of a lease.
    this.#keys = new WatchedPrefix(client, `${prefix}hosts/`, Math.max(250, (ttlSeconds * 1000) / 4), 3000, (kvs) => this.#apply(kvs))
  }

  get #dir(): string {
    return `${this.prefix}hosts/`
  }

  /** The ids of the hosts shards are assigned over: registered and not leaving (this one included once registered). */
  live(): string[] {
    return [...this.#hosts.values()].filter((h) => !h.leaving && !h.joining).map((h) => h.id)
  }

  /** Whether `id` is registered (leaving or not): a leader of that host that gives way hands over. */
  has(id: string): boolean {
    return this.#hosts.has(id)
  }

  get(id: string): HostRecord | undefined {
    return this.#hosts.get(id)
  }

  async start(): Promise<void> {
    await this.#keys.start()
    if (this.self) await this.#register()
    await this.#read()
  }

  #read(): Promise<void> {
    return this.#keys.read()
  }

  /** Puts our record under a fresh lease, kept alive by the client; re-registers if it is lost. */
  #register(): Promise<void> {
    this.#registering ??= (async () => {
      for (let attempt = 0; !this.#closed; attempt++) {
        try {
          const lease = this.client.lease(this.ttlSeconds)
          lease.on('lost', (error) => {
            if (this.#closed || lease !== this.#lease) return
            this.logger.warn({ reason: error.message }, 'the host registration lease was lost; registering again')
            this.#lease = undefined
            void this.#register().then(() => this.#read())
          })
          await lease.grant()
          await lease.put(`${this.#dir}${this.self!.id}`).value(JSON.stringify(this.self)).exec()
          this.#lease = lease
          return
        } catch (error) {
          if (attempt % 10 === 0) this.logger.warn({ err: error }, 'registering the host in etcd failed; retrying')
          await new Promise((r) => setTimeout(r, Math.min(1000, 100 * (attempt + 1))))
        }
      }
    })().finally(() => (this.#registering = undefined))
    return this.#registering
  }

  #apply(kvs: IKeyValue[]): void {
    const next = new Map<string, HostRecord>()
    for (const kv of kvs) {
      try {
        const record = JSON.parse(kv.value.toString()) as HostRecord
        if (typeof record.id === 'string') next.set(record.id, record)
      } catch {
        this.logger.error({ key: kv.key.toString() }, 'an etcd host key holds no Zinc host record; is the prefix shared with something else?')
      }
    }
    const same =
      next.size === this.#hosts.size && [...next].every(([id, r]) => this.#hosts.get(id)?.leaving === r.leaving && this.#hosts.get(id)?.joining === r.joining && this.#hosts.get(id)?.since === r.since)
    this.#hosts.clear()
    for (const [id, r] of next) this.#hosts.set(id, r)
    if (!same && !this.#closed) this.changed()
  }

  /** Marks this host as leaving (same lease): the others take its shards over while it is alive. False when not registered. */
  leave(): Promise<boolean> {
    return this.#update({ leaving: true })
  }

  /** Marks this host as started (no longer joining): shards are assigned to it from now on. */
  ready(): Promise<boolean> {
    return this.#update({ joining: false })
  }

  async #update(change: Partial<HostRecord>): Promise<boolean> {
    const lease = this.#lease
    if (!lease || !this.self) return false
    Object.assign(this.self, change)
    await lease
      .put(`${this.#dir}${this.self.id}`)
      .value(JSON.stringify(this.self))
      .options({ deadline: Date.now() + 3000 })
      .exec()
    await this.#read()
    return true
  }

  async close(): Promise<void> {
    this.#closed = true
    await this.#keys.close()
    await this.#lease?.revoke({ deadline: Date.now() + 1000 }).catch(() => {})
  }
}
