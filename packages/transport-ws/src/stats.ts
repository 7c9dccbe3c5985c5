import type { TransportStats } from '@zinc/core'

/**
 * Counters of one WebSocket transport, summed over its channels; `transport.stats()` returns a
 * copy: the counters every transport has (`TransportStats`), and the WebSocket ones.
 */
export interface WsTransportStats extends TransportStats {
  /** Messages handed to a WebSocket by PUSH channels, and by PUB channels once per subscriber. */
  sent: number
  /** Messages handed to PULL and SUB channels' queues. */
  received: number
  /** Messages lost to a high-water mark: a PUB's slow subscriber, or a full SUB queue. */
  droppedByHwm: number
  /** Inbound frames that failed validation (bad type, bad topic, bad UTF-8, text): dropped. */
  malformed: number
  /** Inbound messages over `maxMessageBytes`: refused (the WebSocket layer closes that connection). Same as `droppedTooLarge`. */
  tooLarge: number
  /** WebSocket connections accepted by bound channels. */
  connectionsAccepted: number
  /** Upgrade requests refused: no channel bound at that path, or a client of the wrong pattern. */
  connectionsRefused: number
  /** Reconnect attempts scheduled by PUSH and SUB channels after a lost or failed connection. */
  reconnects: number
  /** Upgrades refused because their `Origin` is not in `allowedOrigins` (403). */
  originRefused: number
  /** Upgrades refused because their IP address holds `maxConnectionsPerIp` connections (429). */
  perIpRefused: number
  /** Connections dropped after `idleTimeoutMs` without a complete message or a pong. */
  idleClosed: number
  /** Messages a gated PUB withheld from a subscriber whose session was not admitted to the topic. */
  gatedOut: number
  /**
   * Messages a gated PUB kept for a session admitted moments before whose SUB had not
   * subscribed yet (its HELLO overtook its subscription), to deliver when it does.
   */
  heldForSubscription: number
}

export function emptyStats(): WsTransportStats {
  return {
    sent: 0,
    received: 0,
    droppedByHwm: 0,
    malformed: 0,
    tooLarge: 0,
    droppedTooLarge: 0,
    connectionsAccepted: 0,
    connectionsRefused: 0,
    reconnects: 0,
    originRefused: 0,
    perIpRefused: 0,
    idleClosed: 0,
    gatedOut: 0,
    heldForSubscription: 0,
  }
}
