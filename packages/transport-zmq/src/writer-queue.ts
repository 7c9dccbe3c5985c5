import { Fifo } from './fifo.js'

/**
 * The bounded queue in front of one sending socket.
 *
 * zeromq.js allows one `send()` in flight per socket; a second call while the first waits
 * (the socket is at its high-water mark) fails with EBUSY. Every send of a channel therefore
 * goes through this queue, and one drain loop hands messages to the socket one at a time.
 * When the queue is full, a publisher drops (`offer`, ZeroMQ PUB semantics) and a pusher
 * waits (`put`, back-pressure to the producer). The shape follows zeromq.js's
 * `examples/queue/queue.ts`.
 */
export class WriterQueue<M> {
  readonly #items = new Fifo<M>()
  // Producers waiting for room, in arrival order, each with the message it will enqueue.
  readonly #waiters = new Fifo<{ message: M; resolve: () => void; reject: (err: unknown) => void }>()
  readonly #capacity: number
  readonly #write: (message: M) => Promise<void>
  readonly #onWriteError: (err: unknown) => void
  #draining = false
  #closed = false
  #closeReason: unknown

  /**
   * @param write hands one message to the socket; called again only after it settles.
   * @param capacity messages held before `offer` drops and `put` waits (`Infinity` for none).
   * @param onWriteError told about a `write` that failed while the queue was open; the
   *   message is lost, the queue goes on with the next one.
   */
  constructor(write: (message: M) => Promise<void>, capacity: number, onWriteError: (err: unknown) => void) {
    this.#write = write
    this.#capacity = capacity
    this.#onWriteError = onWriteError
  }

  /** Messages waiting in the queue (not counting the one being written, nor waiting producers). */
  get length(): number {
    return this.#items.length
  }

  /** Enqueues `message` if there is room and returns true; returns false (drops) if not. */
  offer(message: M): boolean {
    if (this.#closed) return false
    if (this.#items.length >= this.#capacity) return false
    this.#items.push(message)
    this.#kick()
    return true
  }

  /** Enqueues `message`, waiting for room first. Rejects with `close`'s error if closed meanwhile. */
  put(message: M): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closeReason)
    // Later producers queue behind earlier waiters, so a message never overtakes an older one.
    if (this.#waiters.length === 0 && this.#items.length < this.#capacity) {
      this.#items.push(message)
      this.#kick()
      return Promise.resolve()
    }
    return new Promise((resolve, reject) => this.#waiters.push({ message, resolve, reject }))
  }

  /** Discards every queued message and rejects every waiting producer with `reason`. Idempotent. */
  close(reason: unknown): void {
    if (this.#closed) return
    this.#closed = true
    this.#closeReason = reason
    this.#items.clear()
    for (const waiter of this.#waiters.clear()) waiter.reject(reason)
  }

  #kick(): void {
    if (!this.#draining) void this.#drain()
  }

  async #drain(): Promise<void> {
    this.#draining = true
    try {
      while (!this.#closed) {
        const message = this.#items.shift()
        if (message === undefined) break
        this.#admitWaiters()
        try {
          await this.#write(message)
        } catch (err) {
          // After close the socket rejects what was in flight; that is expected, not news.
          if (!this.#closed) this.#onWriteError(err)
        }
      }
    } finally {
      this.#draining = false
    }
  }

  #admitWaiters(): void {
    while (this.#waiters.length > 0 && this.#items.length < this.#capacity) {
      const waiter = this.#waiters.shift()
      if (waiter === undefined) break
      this.#items.push(waiter.message)
      waiter.resolve()
    }
  }
}
