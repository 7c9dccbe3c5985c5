/**
 * The MessageHandler pool: work items with the same key (a document id) run one at a time in
 * submission order; different keys run concurrently, at most `concurrency` at once. The queue
 * is bounded: `submit` waits while `queueLimit` items are queued, which is how a listener
 * stops reading and leaves pressure in the transport's high-water marks instead of in memory.
 */
export interface HandlerPoolOptions<T> {
  concurrency: number
  queueLimit: number
  /** Handles one item; a rejection is counted, never thrown out of the pool. */
  run: (item: T) => void | Promise<void>
  /** Called when `run` throws or rejects; the pool goes on with the next item. */
  onError: (error: unknown, item: T) => void
}

const YIELD_EVERY = 256
const yieldToEventLoop: (fn: () => void) => void = typeof setImmediate === 'function' ? (fn) => setImmediate(fn) : (fn) => setTimeout(fn, 0)

/** A bounded pool that runs one key's items in order and different keys concurrently (see `HandlerPoolOptions`). */
export class HandlerPool<T> {
  readonly #opts: HandlerPoolOptions<T>
  readonly #queues = new Map<string, T[]>()
  readonly #ready: string[] = []
  readonly #active = new Set<string>()
  #queued = 0
  #running = 0
  #spaceWaiters: Array<() => void> = []
  #idleWaiters: Array<() => void> = []
  #closed = false

  constructor(options: HandlerPoolOptions<T>) {
    if (!(options.concurrency >= 1)) throw new RangeError('concurrency must be at least 1')
    if (!(options.queueLimit >= 1)) throw new RangeError('queueLimit must be at least 1')
    this.#opts = options
  }

  /** Items waiting or running. */
  get depth(): number {
    return this.#queued
  }

  /** Queues `item` under `key`; resolves once it is queued (waits while the queue is full). */
  async submit(key: string, item: T): Promise<void> {
    await this.offer(key, item)
  }

  /**
   * Like `submit`, without a promise when there is room: then `item` is queued at once and
   * nothing is returned; otherwise the returned promise resolves once it is queued.
   */
  offer(key: string, item: T): Promise<void> | undefined {
    if (this.#closed) return undefined
    if (this.#queued < this.#opts.queueLimit) {
      this.#enqueue(key, item)
      return undefined
    }
    return this.#submitWhenRoom(key, item)
  }

  async #submitWhenRoom(key: string, item: T): Promise<void> {
    while (this.#queued >= this.#opts.queueLimit && !this.#closed) {
      await new Promise<void>((resolve) => this.#spaceWaiters.push(resolve))
    }
    if (this.#closed) return
    this.#enqueue(key, item)
  }

  /** Queues without waiting, even past the limit; for work the endpoint creates itself. */
  push(key: string, item: T): void {
    if (!this.#closed) this.#enqueue(key, item)
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.#queued === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  /** Drops everything queued and releases waiters; running items finish on their own. */
  close(): void {
    this.#closed = true
    this.#queues.clear()
    this.#ready.length = 0
    this.#queued = this.#running
    for (const wake of this.#spaceWaiters.splice(0)) wake()
    if (this.#queued === 0) for (const wake of this.#idleWaiters.splice(0)) wake()
  }

  #enqueue(key: string, item: T): void {
    if (this.#inline === undefined && this.#running < this.#opts.concurrency && this.#ready.length === 0 && !this.#active.has(key)) return this.#runNow(key, item)
    let queue = this.#queues.get(key)
    if (!queue) this.#queues.set(key, (queue = []))
    queue.push(item)
    this.#queued++
    if (queue.length === 1 && !this.#active.has(key) && key !== this.#inline) this.#ready.push(key)
    this.#pump()
  }

  #pump(): void {
    while (this.#running < this.#opts.concurrency && this.#ready.length > 0) {
      const key = this.#ready.shift()!
      this.#active.add(key)
      this.#running++
      void this.#drainKey(key)
    }
  }

  /**
   * The common case, an idle lane with room to run: the item runs at once, as #drainKey would
   * have run it, without a queue array made and dropped, a ready entry and an async drain per
   * message. What its handler queues under the same key meanwhile is drained after it.
   */
  #runNow(key: string, item: T): void {
    this.#queued++
    this.#running++
    // Running synchronously, the lane is marked by #inline, not in #active: a Set entry added
    // and deleted per message rehashed the set every few messages. What the handler queues
    // meanwhile waits (no second inline run starts inside this one).
    this.#inline = key
    let result: void | Promise<void> = undefined
    try {
      result = this.#opts.run(item)
    } catch (error) {
      this.#opts.onError(error, item)
    } finally {
      this.#inline = undefined
    }
    if (result || this.#queues.has(key)) this.#active.add(key)
    if (result) return void this.#finishNow(key, item, result)
    this.#done()
    this.#afterNow(key)
  }

  async #finishNow(key: string, item: T, result: Promise<void>): Promise<void> {
    try {
      await result
    } catch (error) {
      this.#opts.onError(error, item)
    }
    this.#done()
    this.#afterNow(key)
  }

  #afterNow(key: string): void {
    if (this.#queues.has(key) && !this.#closed) return void this.#drainKey(key)
    this.#release(key)
  }

  /** The key whose item runs synchronously in #runNow right now. */
  #inline: string | undefined = undefined

  /** `key` stops running: its queue (if empty) and its slot go, the next ready lane starts. */
  #release(key: string): void {
    const queue = this.#queues.get(key)
    if (queue && queue.length === 0) this.#queues.delete(key)
    this.#active.delete(key)
    this.#running--
    if (this.#closed && this.#running === 0) {
      this.#queued = 0
      for (const wake of this.#idleWaiters.splice(0)) wake()
    }
    this.#pump()
  }

  async #drainKey(key: string): Promise<void> {
    const queue = this.#queues.get(key)
    let sinceYield = 0
    while (queue && queue.length > 0 && !this.#closed) {
      // A long run of synchronous handlers must not starve timers and I/O (heartbeats above
      // all: a starved heartbeat looks like a dead endpoint and starts a failover).
      if (++sinceYield > YIELD_EVERY) {
        sinceYield = 0
        await new Promise<void>((resolve) => yieldToEventLoop(resolve))
        if (this.#closed) break
      }
      const item = queue.shift()!
      try {
        const result = this.#opts.run(item)
        if (result) await result
      } catch (error) {
        this.#opts.onError(error, item)
      }
      this.#done()
    }
    this.#release(key)
  }

  #done(): void {
    this.#queued--
    const wake = this.#spaceWaiters.shift()
    if (wake) wake()
    if (this.#queued === 0) for (const w of this.#idleWaiters.splice(0)) w()
  }
}
