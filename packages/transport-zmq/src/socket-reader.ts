import type { Frames } from '@zinc/core'
import { Fifo } from '@zinc/core/internal'

/** The part of a zeromq.js readable socket the reader needs. */
export interface ReadableSocket {
  readonly closed: boolean
  /** One message; zeromq.js allows one call in flight per socket (a second throws EBUSY). */
  receive(): Promise<Uint8Array[]>
}

/** One consumer's iteration: done once it was told so (or left the loop). */
interface Consumer {
  done: boolean
}

interface Waiter {
  resolve: (result: IteratorResult<Frames, undefined>) => void
  reject: (error: unknown) => void
  /** Whose `next()` this is; marked done when the end is handed to it. */
  consumer: Consumer
}

const DONE: IteratorResult<Frames, undefined> = Object.freeze({ done: true, value: undefined })

/**
 * The one reader loop of a receiving socket.
 *
 * zeromq.js allows one `receive()` in flight per socket (a second gets EBUSY), so one pump
 * calls it, and every channel iterator waits in one queue for its turn. Several consumers may
 * iterate at once: each message goes to exactly one of them, the one that asked first, like
 * ZeroMQ's own fair queueing. Iteration ends when the socket closes (its `receive()` rejects
 * then) — unless the channel swapped in a new socket (see `replace`), in which case reading
 * goes on from that one.
 *
 * Why not the socket's own `for await` iterator: zeromq.js wraps `receive()` in an async
 * function, and chaining consumers through promises added more; a message took six microtask
 * turns to reach a consumer. Here it is one `await` on `receive()` (already settled when a
 * message was waiting) plus the consumer's own `for await`: every turn saved is paid on every
 * message at every endpoint.
 */
export class SocketReader {
  #socket: ReadableSocket
  readonly #onMessage: (frames: Frames) => Frames | undefined
  readonly #waiters = new Fifo<Waiter>()
  #pumping = false
  #ended = false

  /**
   * @param onMessage sees every message read before a consumer does (to count it, or to take a
   * ROUTER's routing id off it): returns what the consumer gets, or undefined to skip it.
   */
  constructor(socket: ReadableSocket, onMessage: (frames: Frames) => Frames | undefined) {
    this.#socket = socket
    this.#onMessage = onMessage
  }

  /** Reads from `socket` from now on; the caller then closes the old one, ending its read. */
  replace(socket: ReadableSocket): void {
    this.#socket = socket
  }

  /** A new consumer. Its `return()` (a `break` out of `for await`) leaves the socket open. */
  iterator(): AsyncIterator<Frames, undefined> {
    // Per `next()` only its promise and its waiter: no closure per message besides the
    // promise's executor (a wrapper around `resolve` once marked the end).
    const consumer: Consumer = { done: false }
    return {
      next: () => {
        if (consumer.done || this.#ended) {
          consumer.done = true
          return Promise.resolve(DONE)
        }
        return new Promise<IteratorResult<Frames, undefined>>((resolve, reject) => {
          this.#waiters.push({ resolve, reject, consumer })
          if (!this.#pumping) void this.#pump()
        })
      },
      return: () => {
        consumer.done = true
        return Promise.resolve(DONE)
      },
    }
  }

  /** Reads while consumers wait; ends (and ends them all) once the socket is closed for good. */
  async #pump(): Promise<void> {
    this.#pumping = true
    try {
      while (this.#waiters.length > 0) {
        if (this.#ended || this.#socket.closed) return this.#end()
        const socket = this.#socket
        let frames: Frames | undefined
        try {
          frames = this.#onMessage(await socket.receive())
        } catch (err) {
          // A receive interrupted by close() is the end of the stream, not a failure — unless
          // a replacement socket was swapped in meanwhile: then reading goes on from that one.
          if (socket !== this.#socket || socket.closed) continue
          this.#waiters.shift()?.reject(err)
          continue
        }
        if (frames !== undefined) this.#waiters.shift()?.resolve({ done: false, value: frames })
      }
    } finally {
      this.#pumping = false
    }
  }

  #end(): void {
    this.#ended = true
    for (const waiter of this.#waiters.drain()) {
      waiter.consumer.done = true
      waiter.resolve(DONE)
    }
  }
}
