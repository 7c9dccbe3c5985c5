import { Fifo } from '../fifo.js'

type Waiter<T> = { resolve: (result: IteratorResult<T, undefined>) => void; reject: (error: Error) => void }

const DONE: IteratorResult<never, undefined> = Object.freeze({ done: true, value: undefined })

/**
 * The one async receive queue of Zinc: items in arrival order, handed to readers of the async
 * iterator (a transport's PULL or SUB, a document's stream of changes). The owner decides
 * what to do at its high-water mark; `onTake` tells it an item left the queue, with the tag it
 * was pushed with (a PULL uses it to resume reading a paused connection).
 *
 * `end()` ends every pending and future read (queued items are discarded: a closed channel
 * delivers nothing more); `fail(error)` rejects them instead (an aborted read). Leaving a
 * for-await loop ends that loop only; the queue stays open (as a zeromq.js socket does).
 */
export class AsyncQueue<T, Tag = undefined> implements AsyncIterable<T> {
  readonly #items = new Fifo<{ item: T; tag: Tag }>()
  readonly #waiters: Array<Waiter<T>> = []
  #ended = false
  #error: Error | undefined

  constructor(private readonly onTake: (tag: Tag, item: T) => void = () => {}) {}

  /** Items waiting to be read. */
  get length(): number {
    return this.#items.length
  }

  /** True after `end()` or `fail()`. */
  get ended(): boolean {
    return this.#ended
  }

  /** Hands `item` to a waiting reader, or queues it. Ignored once ended. */
  push(item: T, tag?: Tag): void {
    if (this.#ended) return
    const waiter = this.#waiters.shift()
    if (waiter) {
      waiter.resolve({ done: false, value: item })
      this.onTake(tag as Tag, item)
    } else {
      this.#items.push({ item, tag: tag as Tag })
    }
  }

  /** Ends every pending and future read and discards what is queued. Idempotent. */
  end(): void {
    if (this.#ended) return
    this.#ended = true
    this.#items.drain()
    for (const waiter of this.#waiters.splice(0)) waiter.resolve(DONE)
  }

  /** Rejects every pending and future read with `error` and discards what is queued. */
  fail(error: Error): void {
    if (this.#ended) return
    this.#ended = true
    this.#error = error
    this.#items.drain()
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error)
  }

  /** The next item, or done once the queue ended. */
  next(): Promise<IteratorResult<T, undefined>> {
    if (this.#error) return Promise.reject(this.#error)
    if (this.#ended) return Promise.resolve(DONE)
    const entry = this.#waiters.length === 0 ? this.#items.shift() : undefined
    if (entry) {
      this.onTake(entry.tag, entry.item)
      return Promise.resolve({ done: false, value: entry.item })
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }))
  }

  [Symbol.asyncIterator](): AsyncIterator<T, undefined> {
    return {
      next: () => this.next(),
      return: () => Promise.resolve(DONE),
    }
  }
}
