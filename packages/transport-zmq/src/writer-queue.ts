import { Fifo } from '@zinc/core/internal'

/** Where a {@link WriterQueue} writes: a zeromq.js writable socket. */
export interface WriterSink<M> {
  /** Queues one message in ZeroMQ; pending while the socket is at its high-water mark. */
  send(message: M): Promise<void>
}

/** How a {@link WriterQueue} behaves. */
export interface WriterQueueOptions {
  /** Messages held before `offer` drops and `put` waits (`Infinity` for no bound). */
  capacity: number
  /** Told about each message ZeroMQ accepted. */
  onSent(): void
  /** Told about a send that failed while the queue was open; the message is lost. */
  onError(err: unknown): void
}

interface Entry<M> {
  message: M
  /** Settles the producer's promise once the message was handed to the socket. */
  done: () => void
  /** Settles it when close() discards the message instead. */
  discarded: () => void
  /** Its producer gave up (AbortSignal) before the message reached the socket: skipped. */
  aborted?: boolean
}

/**
 * The bounded queue in front of one sending socket.
 *
 * zeromq.js allows one `send()` in flight per socket: a second call while the first is
 * pending throws EBUSY. A send is pending not only at the high-water mark: zeromq.js also
 * defers every few-thousandth immediate send to the next event-loop turn so a tight loop
 * cannot starve I/O. So every send of a channel goes through this queue, and one drain loop
 * hands messages to the socket one at a time. The shape follows zeromq.js's
 * `examples/queue/queue.ts`.
 *
 * A producer's promise settles when its message reaches ZeroMQ, so `await send()` in a loop
 * yields to the event loop exactly as often as raw zeromq.js does (a reader in the same
 * process keeps up). Producers that do not wait fill the queue; past `capacity` a publisher
 * drops (`offer`, ZeroMQ PUB semantics) and a pusher waits (`put`, back-pressure).
 */
export class WriterQueue<M> {
  readonly #items = new Fifo<Entry<M>>()
  // Producers waiting for room, in arrival order.
  readonly #waiters = new Fifo<Entry<M>>()
  readonly #sink: WriterSink<M>
  readonly #options: WriterQueueOptions
  #draining = false
  #closed = false

  constructor(sink: WriterSink<M>, options: WriterQueueOptions) {
    this.#sink = sink
    this.#options = options
  }

  /** Messages waiting in the queue (not counting one being sent, nor waiting producers). */
  get length(): number {
    return this.#items.length
  }

  /**
   * Enqueues `message` if there is room; returns undefined (dropped) if not. The promise
   * resolves once ZeroMQ took the message, or once close() discarded it: a dropped or
   * discarded publication is not an error.
   */
  offer(message: M): Promise<void> | undefined {
    if (this.#closed || this.#items.length >= this.#options.capacity) return undefined
    if (!this.#draining) return this.#sendNow(message)
    return new Promise((resolve) => this.#enqueue({ message, done: resolve, discarded: resolve }))
  }

  /**
   * The common case, an idle queue: the message goes to the socket at once, and the promise
   * returned is the socket's own, chained once — no entry, no producer promise, no drain loop
   * (a publish at every hop allocated all three and took two more microtask turns to settle).
   * The queue counts as draining until the socket took it, so a next message waits its turn.
   */
  #sendNow(message: M): Promise<void> {
    this.#draining = true
    let sending: Promise<void>
    try {
      sending = this.#sink.send(message)
    } catch (err) {
      this.#sentNowFailed(err)
      return Promise.resolve()
    }
    return sending.then(this.#sentNow, this.#sentNowFailed)
  }

  readonly #sentNow = (): void => {
    this.#options.onSent()
    this.#resumeAfterSendNow()
  }

  readonly #sentNowFailed = (err: unknown): void => {
    // After close the socket rejects what was in flight; that is expected, not news.
    if (!this.#closed) this.#options.onError(err)
    this.#resumeAfterSendNow()
  }

  /** The message sent at once was taken: what queued behind it meanwhile goes next. */
  #resumeAfterSendNow(): void {
    this.#draining = false
    if (!this.#closed && this.#items.length > 0) void this.#drain()
  }

  /**
   * Enqueues `message`, waiting for room first. Resolves once ZeroMQ took it; rejects with
   * `close`'s reason if the queue closes first, with `abortReason()` if `signal` aborts before
   * the message reached the socket (it is then not sent).
   */
  put(message: M, closedReason: () => unknown, signal?: AbortSignal, abortReason?: () => unknown): Promise<void> {
    if (this.#closed) return Promise.reject(closedReason())
    if (signal?.aborted) return Promise.reject(abortReason?.())
    // Nothing queued, nothing waiting, nothing to abort: straight to the socket (see #sendNow).
    if (!signal && !this.#draining && this.#waiters.length === 0) return this.#sendNow(message)
    return new Promise((resolve, reject) => {
      const entry: Entry<M> = { message, done: resolve, discarded: () => reject(closedReason()) }
      if (signal) {
        const onAbort = () => {
          entry.aborted = true
          reject(abortReason?.())
        }
        signal.addEventListener('abort', onAbort, { once: true })
        const settle = (fn: () => void) => () => {
          signal.removeEventListener('abort', onAbort)
          fn()
        }
        entry.done = settle(resolve)
        entry.discarded = settle(() => reject(closedReason()))
      }
      // Later producers queue behind earlier waiters, so a message never overtakes an older one.
      if (this.#waiters.length === 0 && this.#items.length < this.#options.capacity) this.#enqueue(entry)
      else this.#waiters.push(entry)
    })
  }

  /** Discards every queued message and settles its producer (see offer/put). Idempotent. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    for (const entry of this.#items.drain()) entry.discarded()
    for (const entry of this.#waiters.drain()) entry.discarded()
  }

  #enqueue(entry: Entry<M>): void {
    this.#items.push(entry)
    if (!this.#draining) void this.#drain()
  }

  async #drain(): Promise<void> {
    this.#draining = true
    try {
      while (!this.#closed) {
        const entry = this.#items.shift()
        if (entry === undefined) break
        this.#admitWaiters()
        if (entry.aborted) continue
        try {
          await this.#sink.send(entry.message)
          this.#options.onSent()
        } catch (err) {
          // After close the socket rejects what was in flight; that is expected, not news.
          if (!this.#closed) this.#options.onError(err)
        }
        // Even a failed send settles its producer: the message is gone either way.
        entry.done()
      }
    } finally {
      this.#draining = false
    }
  }

  #admitWaiters(): void {
    while (this.#waiters.length > 0 && this.#items.length < this.#options.capacity) {
      const entry = this.#waiters.shift()
      if (entry !== undefined) this.#items.push(entry)
    }
  }
}
