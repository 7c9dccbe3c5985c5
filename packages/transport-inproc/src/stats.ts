/** Counters of one `InprocNetwork`, returned by `network.stats()` (a snapshot copy). */
export interface InprocStats {
  /** Messages handed to a receiving channel's iterator. */
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
    delivered: 0,
    droppedByFault: 0,
    droppedByPartition: 0,
    droppedByHwm: 0,
    droppedTooLarge: 0,
    duplicated: 0,
    delayed: 0,
  }
}
