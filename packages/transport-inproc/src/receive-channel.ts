import type { Frames, ReceiveChannel } from '@zinc/core'
import type { Link } from './link.js'
import type { LinkReceiver } from './wiring.js'

type Waiter = (result: IteratorResult<Frames, undefined>) => void

const DONE: IteratorResult<Frames, undefined> = { done: true, value: undefined }

/**
 * The receiving half shared by PULL and SUB: reads its links fairly (round robin, as ZeroMQ's
 * fair queueing) and wakes waiting readers on a microtask, never inside a sender's `send`.
 */
export abstract class InprocReceiveChannel implements ReceiveChannel, LinkReceiver {
  abstract readonly address: string
  protected readonly links: Link[] = []
  private readonly waiters: Waiter[] = []
  private cursor = 0
  private wakeScheduled = false
  private isClosed = false

  get closed(): boolean {
    return this.isClosed
  }

  abstract close(): Promise<void>

  /** @internal A link has messages ready. */
  notify(): void {
    if (this.wakeScheduled || this.isClosed) return
    this.wakeScheduled = true
    queueMicrotask(() => {
      this.wakeScheduled = false
      this.wake()
    })
  }

  [Symbol.asyncIterator](): AsyncIterator<Frames, undefined> {
    return {
      next: () => this.receive(),
      // Leaving a for-await loop ends that loop only; the channel stays open (as in zeromq.js).
      return: () => Promise.resolve(DONE),
    }
  }

  protected addLink(link: Link): void {
    this.links.push(link)
  }

  protected removeLink(link: Link): void {
    const index = this.links.indexOf(link)
    if (index >= 0) this.links.splice(index, 1)
  }

  /** Ends every pending and future read. */
  protected endReads(): void {
    this.isClosed = true
    for (const waiter of this.waiters.splice(0)) waiter(DONE)
  }

  private receive(): Promise<IteratorResult<Frames, undefined>> {
    if (this.isClosed) return Promise.resolve(DONE)
    // Earlier readers go first, so only take directly when nobody is waiting.
    if (this.waiters.length === 0) {
      const frames = this.take()
      if (frames) return Promise.resolve({ done: false, value: frames })
    }
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  private wake(): void {
    while (this.waiters.length > 0) {
      const frames = this.take()
      if (!frames) return
      this.waiters.shift()?.({ done: false, value: frames })
    }
  }

  private take(): Frames | undefined {
    const count = this.links.length
    for (let i = 0; i < count; i++) {
      const index = (this.cursor + i) % count
      const frames = this.links[index]?.take()
      if (frames) {
        this.cursor = (index + 1) % count
        return frames
      }
    }
    return undefined
  }
}
