import { BadFrameError } from '../errors.js'
import type { Logger } from '../logger.js'
import { decodeMessage, type Message } from '../protocol/codec.js'
import { sameBytes } from './bytes.js'
import type { PeerIdentity, ReceiveChannel, ReceivedFrames } from '../transport.js'

/** Options of a `ChannelListener`. */
export interface ListenerOptions {
  /** For logs: 'inbound' or 'parent'. */
  name: string
  /** 1 for PULL ([body]), 2 for SUB ([topic, body]). */
  frames: 1 | 2
  maxMessageBytes: number
  logger: Logger
  /** Called for every frame that does not decode; the frame is dropped. */
  onBadFrame: (error: BadFrameError) => void
  /**
   * Hands the message on; when it returns a promise, the listener reads the next frame only
   * once it resolves (back-pressure). `peer` is who sent it, when the transport knows (a bound
   * PULL's `ReceivedFrames.peer`).
   */
  deliver: (message: Message, topic: string, peer?: PeerIdentity) => Promise<void> | void
}

const decoder = new TextDecoder()

/**
 * A frame up to this size is remembered (the last one per listener, a copy): the same bytes
 * again on the same topic are the same message, not decoded again. A parent's heartbeat is
 * the same bytes every time it has nothing new to say; a thousand tabs in one process each
 * decoded it (its UUIDs and all) twice a second.
 */
const REPEAT_BYTES = 256

/**
 * Reads one channel until it closes, turning each frame into a validated Message. Nothing
 * thrown by a frame escapes the loop: bad frames are counted and dropped, so one hostile
 * peer cannot stop an endpoint from serving the others.
 */
export class ChannelListener {
  readonly #channel: ReceiveChannel
  readonly #opts: ListenerOptions
  #running: Promise<void> | undefined
  #stalled = false
  #last: { topic: string; body: Uint8Array; message: Message } | undefined

  constructor(channel: ReceiveChannel, options: ListenerOptions) {
    this.#channel = channel
    this.#opts = options
  }

  /** Starts reading the channel (once). */
  start(): void {
    this.#running ??= this.#loop()
  }

  /**
   * True while the listener waits for its consumer to take a message (back-pressure): it reads
   * nothing meanwhile, so the silence of whoever sends on this channel means nothing.
   */
  get stalled(): boolean {
    return this.#stalled
  }

  /** Resolves when the loop has ended (after the channel closed). */
  get done(): Promise<void> {
    return this.#running ?? Promise.resolve()
  }

  async #loop(): Promise<void> {
    const { frames: expected, maxMessageBytes, deliver } = this.#opts
    try {
      for await (const frames of this.#channel) {
        let message: Message
        let topic = ''
        try {
          if (frames.length !== expected) {
            throw new BadFrameError(`expected ${expected} frame(s) on the ${this.#opts.name} channel, got ${frames.length}`)
          }
          const body = frames[expected - 1]!
          if (expected === 2) topic = decoder.decode(frames[0]!)
          const last = this.#last
          if (last && last.topic === topic && sameBytes(last.body, body)) message = last.message
          else if (body.byteLength <= REPEAT_BYTES) {
            // Decoded from our own copy: a transport may reuse the memory of what it handed us.
            // (`new Uint8Array(body)` copies; a Node Buffer's `slice` would not.)
            const copy = new Uint8Array(body)
            message = decodeMessage(copy, maxMessageBytes)
            this.#last = { topic, body: copy, message }
          } else message = decodeMessage(body, maxMessageBytes)
        } catch (error) {
          const bad = error instanceof BadFrameError ? error : new BadFrameError(String(error))
          this.#opts.onBadFrame(bad)
          continue
        }
        try {
          const delivered = deliver(message, topic, (frames as ReceivedFrames).peer)
          if (delivered) {
            this.#stalled = true
            await delivered
          }
        } catch (error) {
          this.#opts.logger.error({ err: error, channel: this.#opts.name }, 'delivering a message failed')
        } finally {
          this.#stalled = false
        }
      }
    } catch (error) {
      // A transport failure ends this listener; the endpoint notices through liveness.
      if (!this.#channel.closed) this.#opts.logger.error({ err: error, channel: this.#opts.name }, 'channel listener stopped')
    }
  }
}
