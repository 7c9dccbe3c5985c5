import type { Etcd3, IKeyValue, Watcher } from 'etcd3'

/**
 * Every key under a prefix, read again whenever etcd says one changed (a watch) and now and then
 * (a poll: a reconnect can miss watch events). One read at a time; a change during a read makes
 * one more. A read etcd does not answer is left to the next one.
 */
export class WatchedPrefix {
  #watcher: Watcher | undefined
  #poll: ReturnType<typeof setInterval> | undefined
  #closed = false
  #reading = false
  #again = false

  constructor(
    readonly client: Etcd3,
    readonly dir: string,
    readonly pollMs: number,
    readonly timeoutMs: number,
    /** What a read found (not called once closed). */
    readonly apply: (kvs: IKeyValue[]) => void,
  ) {}

  /** Watches and polls from now on (the first read is the caller's: `read()`). */
  async start(): Promise<void> {
    const reread = () => void this.read()
    this.#watcher = await this.client.watch().prefix(this.dir).create()
    this.#watcher
      .on('put', reread)
      .on('delete', reread)
      .on('connected', reread)
      .on('error', () => {})
    this.#poll = setInterval(reread, this.pollMs)
  }

  async read(): Promise<void> {
    if (this.#reading) return void (this.#again = true)
    this.#reading = true
    try {
      do {
        this.#again = false
        let kvs: IKeyValue[]
        try {
          kvs = (
            await this.client
              .getAll()
              .prefix(this.dir)
              .options({ deadline: Date.now() + this.timeoutMs })
              .exec()
          ).kvs
        } catch {
          return // etcd unreachable: the poll reads again
        }
        if (!this.#closed) this.apply(kvs)
      } while (this.#again && !this.#closed)
    } finally {
      this.#reading = false
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#poll)
    await this.#watcher?.cancel().catch(() => {})
  }
}
