import type { EndpointId } from '../ids.js'
import type { Logger } from '../logger.js'

const decoder = new TextDecoder()

/** How `publish` was given its payload; the receiver gets it back the same way. */
export const PayloadEncoding = { BYTES: 0, TEXT: 1, JSON: 2 } as const

/** An application message as a MessageHandler receives it. */
export interface AppMessage<P = unknown> {
  /** The application kind it was published under. */
  readonly kind: string
  /** The endpoint that published it. */
  readonly origin: EndpointId
  /** The payload as it was published: a Uint8Array, a string, or a JSON value. */
  readonly payload: P
  /** The payload's bytes on the wire. */
  readonly bytes: Uint8Array
  /** The payload as UTF-8 text. */
  text(): string
  /** The payload parsed as JSON (throws on invalid JSON). */
  json<T = unknown>(): T
}

/** What a message handler gets besides the message. */
export interface HandlerContext {
  /** The id of the endpoint handling the message. */
  readonly endpoint: EndpointId
  readonly logger: Logger
}

/** Handles one application message kind; may be async (the pool waits for it). */
export type MessageHandler<P = any> =
  | ((message: AppMessage<P>, context: HandlerContext) => void | Promise<void>)
  | {
      /** Called for each message of the kind (an object with state can be a handler). */
      handle(message: AppMessage<P>, context: HandlerContext): void | Promise<void>
    }

export function appMessage(kind: string, origin: EndpointId, bytes: Uint8Array, encoding: number): AppMessage {
  let decoded: { value: unknown } | undefined
  return {
    kind,
    origin,
    bytes,
    get payload() {
      decoded ??= {
        value:
          encoding === PayloadEncoding.TEXT
            ? decoder.decode(bytes)
            : encoding === PayloadEncoding.JSON
              ? JSON.parse(decoder.decode(bytes))
              : // A plain Uint8Array view, whatever subclass the decoder produced (Node's Buffer).
                new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      }
      return decoded.value
    },
    text: () => decoder.decode(bytes),
    json: <T>() => JSON.parse(decoder.decode(bytes)) as T,
  }
}

const encoder = new TextEncoder()

/** Bytes and encoding for `publish(kind, payload)`; throws for values JSON cannot carry. */
export function encodeAppPayload(payload: unknown): { bytes: Uint8Array; encoding: number } {
  if (payload instanceof Uint8Array) return { bytes: payload, encoding: PayloadEncoding.BYTES }
  if (typeof payload === 'string') return { bytes: encoder.encode(payload), encoding: PayloadEncoding.TEXT }
  const json = payload === undefined ? undefined : JSON.stringify(payload)
  if (json === undefined) throw new TypeError('publish(kind, payload) takes a Uint8Array, a string or a JSON-serialisable value.')
  return { bytes: encoder.encode(json), encoding: PayloadEncoding.JSON }
}

export function runHandler(handler: MessageHandler, message: AppMessage, context: HandlerContext): void | Promise<void> {
  return typeof handler === 'function' ? handler(message, context) : handler.handle(message, context)
}

/** Application kinds: 1–128 printable characters. */
export function isValidAppKind(kind: unknown): kind is string {
  return typeof kind === 'string' && kind.length > 0 && kind.length <= 128 && /^[\x21-\x7e]+$/.test(kind)
}
