import type { TransportStats } from '@zinc/core'

/**
 * Counters of one `InprocNetwork`, returned by `network.stats()` (a snapshot copy): the
 * counters every transport has (`TransportStats`), and the network's own.
 */
export interface InprocStats extends TransportStats {
  /** Messages handed to a receiving channel's iterator (the same as `received`). */
  delivered: number
  /** Messages lost to the random `drop` fault. */
  droppedByFault: number
  /** Messages sent across a partition, or from or to a killed node. */
  droppedByPartition: number
  /** Messages a PUB dropped because a subscriber's queue was at its high-water mark. */
  droppedByHwm: number
  /** Inbound messages larger than the receiver's `maxMessageBytes`. */
  droppedTooLarge: number
  /** Extra copies made by the `duplicate` fault. */
  duplicated: number
  /** Messages held back by the `delay` fault. */
  delayed: number
}

export function emptyStats(): InprocStats {
  return {
    sent: 0,
    received: 0,
    malformed: 0,
    delivered: 0,
    droppedByFault: 0,
    droppedByPartition: 0,
    droppedByHwm: 0,
    droppedTooLarge: 0,
    duplicated: 0,
    delayed: 0,
  }
}
