import type { EndpointId } from '../ids.js'
import type { Logger } from '../logger.js'

const decoder = new TextDecoder()

/** An application message as a MessageHandler receives it. */
export interface AppMessage {
  /** The application kind it was published under. */
  readonly kind: string
  /** The endpoint that published it. */
  readonly origin: EndpointId
  readonly payload: Uint8Array
  /** The payload as UTF-8 text. */
  text(): string
  /** The payload parsed as JSON (throws on invalid JSON). */
  json<T = unknown>(): T
}

export interface HandlerContext {
  /** The id of the endpoint handling the message. */
  readonly endpoint: EndpointId
  readonly logger: Logger
}

/** Handles one application message kind; may be async (the pool waits for it). */
export type MessageHandler =
  | ((message: AppMessage, context: HandlerContext) => void | Promise<void>)
  | { handle(message: AppMessage, context: HandlerContext): void | Promise<void> }

export function appMessage(kind: string, origin: EndpointId, payload: Uint8Array): AppMessage {
  return {
    kind,
    origin,
    payload,
    text: () => decoder.decode(payload),
    json: <T>() => JSON.parse(decoder.decode(payload)) as T,
  }
}

export function runHandler(handler: MessageHandler, message: AppMessage, context: HandlerContext): void | Promise<void> {
  return typeof handler === 'function' ? handler(message, context) : handler.handle(message, context)
}

/** Application kinds: 1–128 printable characters. */
export function isValidAppKind(kind: unknown): kind is string {
  return typeof kind === 'string' && kind.length > 0 && kind.length <= 128 && /^[\x21-\x7e]+$/.test(kind)
}
