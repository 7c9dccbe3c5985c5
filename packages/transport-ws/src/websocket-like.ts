/**
 * The part of the WHATWG `WebSocket` API the connecting channels use. A browser's `WebSocket`
 * and the `ws` package's both have it, which is what lets one PUSH/SUB implementation serve a
 * browser tab and a Node process.
 */
export interface WebSocketLike {
  binaryType: string
  readonly readyState: number
  /** Bytes handed to `send` and not yet written to the network. */
  readonly bufferedAmount: number
  onopen: ((event: unknown) => void) | null
  onclose: ((event: unknown) => void) | null
  onerror: ((event: unknown) => void) | null
  onmessage: ((event: { data: unknown }) => void) | null
  send(data: Uint8Array): void
  close(code?: number, reason?: string): void
  /** `ws` only: drops the connection at once, without a closing handshake that could linger. */
  terminate?(): void
}

/** Opens a WebSocket to `url` offering one subprotocol. */
export type WebSocketFactory = (url: string, protocol: string, options: { maxPayload: number }) => WebSocketLike

/** `WebSocket.OPEN`, the same in every implementation. */
export const OPEN = 1

/** A constructor shaped like the browser's `WebSocket`. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => unknown
