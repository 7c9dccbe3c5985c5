import type { Etcd3, IKeyValue } from 'etcd3'
import { WatchedPrefix } from './watched-prefix.js'

/**
 * Shards lent for a while to the host whose store holds a document their owner cannot serve
 * (`<prefix>lends/<shard>` = host id, no lease).
 *
 * A document's latest copy may be in the store of a host that is running but does not lead the
 * document's shard: it led the shard under another set of live hosts, and lost it by failing
 * (a pause, a partition), not by a handover that would have passed the document on. The
 * owner then refuses the document's opens (DocumentRecords.check) and would refuse them for
 * as long as the assignment stands. Instead it lends the shard to that host: every host
 * assigns the shard to it while the lend stands (and it is live), so the owner hands the shard
 * over as on any move, the holder serves the document from its store, and once its recovery
 * window has passed it gives the shard back (deleting the lend): the handover back passes on
 * every document of the shard it stores, the wanted one included (prepareHandover).
 */
export class ShardLends {
  readonly #lends = new Map<number, string>()
  readonly #keys: WatchedPrefix
  #closed = false

  constructor(
    readonly client: Etcd3,
    readonly prefix: string,
    pollMs: number,
    readonly timeoutMs: number,
    /** The lends changed: assign again. */
    readonly changed: () => void,
  ) {
    this.#keys = new WatchedPrefix(client, this.#dir, pollMs, timeoutMs, (kvs) => this.#apply(kvs))
  }

  get #dir(): string {
    return `${this.prefix}lends/`
  }

  async start(): Promise<void> {
    await this.#keys.start()
    await this.#keys.read()
  }

  /** The host `shard` is lent to, if any. */
  get(shard: number): string | undefined {
    return this.#lends.get(shard)
  }

  entries(): IterableIterator<[number, string]> {
    return this.#lends.entries()
  }

  /** Lends `shard` to `host`, unless it is lent already (to anyone). */
  async lend(shard: number, host: string): Promise<void> {
    if (this.#lends.has(shard) || this.#closed) return
    const key = `${this.#dir}${shard}`
    await this.client
      .if(key, 'Create', '==', 0)
      .then(this.client.put(key).value(host))
      .options({ deadline: Date.now() + this.timeoutMs })
      .commit()
    await this.#keys.read()
  }

  /** Gives `shard` back, if it is lent to `host`. */
  async giveBack(shard: number, host: string): Promise<void> {
    const key = `${this.#dir}${shard}`
    await this.client
      .if(key, 'Value', '==', host)
      .then(this.client.delete().key(key))
      .options({ deadline: Date.now() + this.timeoutMs })
      .commit()
    await this.#keys.read()
  }

  #apply(kvs: IKeyValue[]): void {
    const next = new Map<number, string>()
    for (const kv of kvs) {
      const shard = Number(kv.key.toString().slice(this.#dir.length))
      if (Number.isInteger(shard)) next.set(shard, kv.value.toString())
    }
    const same = next.size === this.#lends.size && [...next].every(([k, h]) => this.#lends.get(k) === h)
    this.#lends.clear()
    for (const [k, h] of next) this.#lends.set(k, h)
    if (!same) this.changed()
  }

  async close(): Promise<void> {
    this.#closed = true
    await this.#keys.close()
  }
}
