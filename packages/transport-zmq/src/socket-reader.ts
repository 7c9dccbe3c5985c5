import type { Frames } from '@zinc/core'

/** The part of a zeromq.js readable socket the reader needs. */
export interface ReadableSocket extends AsyncIterable<Uint8Array[]> {
  readonly closed: boolean
}

/**
 * The one reader loop of a receiving socket.
 *
 * zeromq.js allows one `receive()` in flight per socket (a second gets EBUSY), so the socket's
 * own `for await` iterator is opened once and every channel iterator pulls from it through a
 * promise chain. Several consumers may iterate at once: each message goes to exactly one of
 * them, like ZeroMQ's own fair queueing. Iteration ends when the socket closes, because
 * zeromq.js ends its iterator then — unless the channel swapped in a new socket (see
 * `replace`), in which case reading goes on from that one.
 */
export class SocketReader {
  #socket: ReadableSocket
  #source: AsyncIterator<Uint8Array[]>
  readonly #onMessage: (frames: Frames) => Frames | undefined
  #tail: Promise<unknown> = Promise.resolve()
  #ended = false

  /**
   * @param onMessage sees every message read before a consumer does (to count it, or to take a
   * ROUTER's routing id off it): returns what the consumer gets, or undefined to skip it.
   */
  constructor(socket: ReadableSocket, onMessage: (frames: Frames) => Frames | undefined) {
    this.#socket = socket
    this.#source = socket[Symbol.asyncIterator]()
    this.#onMessage = onMessage
  }

  /** Reads from `socket` from now on; the caller then closes the old one, ending its read. */
  replace(socket: ReadableSocket): void {
    this.#socket = socket
    this.#source = socket[Symbol.asyncIterator]()
  }

  /** A new consumer. Its `return()` (a `break` out of `for await`) leaves the socket open. */
  iterator(): AsyncIterator<Frames, undefined> {
    let done = false
    return {
      next: async () => {
        if (done) return { done: true, value: undefined }
        const result = await this.#next()
        if (result.done) done = true
        return result
      },
      return: async () => {
        done = true
        return { done: true, value: undefined }
      },
    }
  }

  #next(): Promise<IteratorResult<Frames, undefined>> {
    const result = this.#tail.then(() => this.#read())
    this.#tail = result.catch(() => undefined)
    return result
  }

  async #read(): Promise<IteratorResult<Frames, undefined>> {
    for (;;) {
      if (this.#ended) return this.#end()
      const socket = this.#socket
      const source = this.#source
      if (socket.closed) return this.#end()
      let result: IteratorResult<Uint8Array[]>
      try {
        result = await source.next()
      } catch (err) {
        // A receive interrupted by close() is the end of the stream, not a failure.
        if (source !== this.#source) continue
        if (socket.closed) return this.#end()
        throw err
      }
      if (result.done === true) {
        if (source !== this.#source) continue
        return this.#end()
      }
      const frames = this.#onMessage(result.value)
      if (frames === undefined) continue
      return { done: false, value: frames }
    }
  }

  #end(): IteratorResult<Frames, undefined> {
    this.#ended = true
    return { done: true, value: undefined }
  }
}
