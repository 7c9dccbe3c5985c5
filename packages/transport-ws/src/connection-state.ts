/**
 * The state of a connecting channel (PUSH or SUB):
 * `connecting` until its first connection opens, `connected` while one is open, `reconnecting`
 * while it waits to try again after a lost or failed connection, `closed` after `close()`.
 */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'closed'

/** A change of a connecting channel's state, as the transport's `'state'` event reports it. */
export interface ConnectionStateChange {
  /** The address the channel connects to. */
  readonly address: string
  /** `push` or `sub`. */
  readonly kind: 'push' | 'sub'
  readonly state: ConnectionState
}

/** Events of both WebSocket transports; listeners run on a microtask. */
export type WsTransportEvents = {
  /** A PUSH or SUB channel connected, lost its connection (`reconnecting`) or closed. */
  state: [change: ConnectionStateChange]
  /** The transport closed: every channel it opened is closed. */
  closed: []
}
