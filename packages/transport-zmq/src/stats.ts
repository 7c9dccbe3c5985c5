import type { TransportStats } from '@zinc/core'

/**
 * Counters of one transport, summed over all its channels: the counters every transport has
 * (`TransportStats`), and ZeroMQ's own.
 */
export interface ZmqTransportStats extends TransportStats {
  /** Channels open right now. */
  channelsOpen: number
  /** Messages handed to ZeroMQ by PUB and PUSH channels. */
  sent: number
  /**
   * PUB messages dropped because the queue in front of the publisher was full (the same as
   * `droppedByHwm`). ZeroMQ's own per-subscriber drops past the high-water mark happen inside
   * libzmq and are not counted, nor are oversize messages (libzmq drops the connection), so
   * `droppedTooLarge` and `malformed` stay 0.
   */
  dropped: number
  /** Messages read by PULL and SUB channels. */
  received: number
  /** Sends ZeroMQ failed while the channel was open (the message is lost). */
  sendErrors: number
  /** Connections the ZAP handler admitted. */
  authAccepted: number
  /** Connections the ZAP handler refused (see the `auth-refused` event). */
  authRefused: number
  /** Failed security handshakes seen by this transport's sockets (see `handshake-failed`). */
  handshakeFailures: number
}

/** A fresh set of counters at zero. */
export function emptyStats(): ZmqTransportStats {
  return { channelsOpen: 0, sent: 0, dropped: 0, received: 0, sendErrors: 0, authAccepted: 0, authRefused: 0, handshakeFailures: 0, droppedByHwm: 0, droppedTooLarge: 0, malformed: 0 }
}
