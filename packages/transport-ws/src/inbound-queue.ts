import type { Frames } from '@zinc/core'
import { Fifo } from '@zinc/core/internal'

type Waiter = (result: IteratorResult<Frames, undefined>) => void

const DONE: IteratorResult<Frames, undefined> = { done: true, value: undefined }

/**
 * The receive side of a PULL or SUB: messages in arrival order (which keeps order per
 * connection), handed to readers of the async iterator. The owner decides what to do at its
 * high-water mark; `onTake` tells it a message left the queue, with the tag it was pushed with
 * (a PULL uses it to resume reading a paused connection).
 */
export class InboundQueue<Tag> implements AsyncIterable<Frames> {
  private readonly items = new Fifo<{ frames: Frames; tag: Tag }>()
  private readonly waiters: Waiter[] = []
  private ended = false

  constructor(private readonly onTake: (tag: Tag, frames: Frames) => void = () => {}) {}

  get length(): number {
    return this.items.length
  }

  push(frames: Frames, tag: Tag): void {
    if (this.ended) return
    const waiter = this.waiters.shift()
    if (waiter) {
      waiter({ done: false, value: frames })
      this.onTake(tag, frames)
    } else {
      this.items.push({ frames, tag })
    }
  }

  /** Ends every pending and future read and discards what is queued. */
  end(): void {
    this.ended = true
    this.items.drain()
    for (const waiter of this.waiters.splice(0)) waiter(DONE)
  }

  [Symbol.asyncIterator](): AsyncIterator<Frames, undefined> {
    return {
      next: () => this.next(),
      // Leaving a for-await loop ends that loop only; the channel stays open (as in zeromq.js).
      return: () => Promise.resolve(DONE),
    }
  }

  private next(): Promise<IteratorResult<Frames, undefined>> {
    if (this.ended) return Promise.resolve(DONE)
    const item = this.waiters.length === 0 ? this.items.shift() : undefined
    if (item) {
      this.onTake(item.tag, item.frames)
      return Promise.resolve({ done: false, value: item.frames })
    }
    return new Promise((resolve) => this.waiters.push(resolve))
  }
}
