import { emptyHistogram, type Histogram } from './histogram.js'

/** Counters every endpoint keeps; `endpoint.stats()` returns a copy. */
export interface EndpointStats {
  /** Messages sent on any channel. */
  sent: number
  /** Messages received and decoded. */
  received: number
  /** Frames that failed decoding or validation (malformed, oversize, unknown kind, bad UUID). */
  badFrames: number
  /** Well-formed messages dropped: unexpected, from a stranger, stale epoch, unknown document. */
  dropped: number
  /** Application or built-in handlers that threw. */
  handlerErrors: number
  /** Catch-up or snapshot requests this endpoint made after seeing a gap. */
  resyncs: number
  /** Fragments this endpoint sequenced (root only). */
  sequenced: number
  /** Fragments the root refused to sequence (patch did not apply, not authorized). */
  rejected: number
  /** Fragments the root rewrote over concurrent ones before sequencing (operational transformation). */
  transformed: number
  /** Fragments the root asked their origin to rebase and send again (ERR_STALE_BASE). */
  staleBases: number
  /** Sequenced fragments applied to local replicas. */
  applied: number
  /** Duplicate fragments recognised and not applied twice. */
  duplicates: number
  /** Local changes resent because no acknowledgement came in time. */
  resent: number
  /** Catch-up and snapshot requests this endpoint answered for its children. */
  served: number
  /** Messages dropped because an outbound queue was full. */
  queueDrops: number
  /** Messages from children dropped by their rate limit. */
  throttled: number
  /** Gauges, filled in by `stats()`. */
  pending: number
  queueDepth: number
  children: number
  epoch: number
  /** Head seq of every open document. */
  docs: Record<string, number>
  /** Time spent in message handlers (built-in and application), in milliseconds. */
  handlerLatency: Histogram
  /** Sent and received counts per message kind name. */
  sentByKind: Record<string, number>
  receivedByKind: Record<string, number>
}

export type Counter = Exclude<keyof EndpointStats, 'pending' | 'queueDepth' | 'children' | 'epoch' | 'docs' | 'sentByKind' | 'receivedByKind' | 'handlerLatency'>

export function emptyStats(): EndpointStats {
  return {
    sent: 0,
    received: 0,
    badFrames: 0,
    dropped: 0,
    handlerErrors: 0,
    resyncs: 0,
    sequenced: 0,
    rejected: 0,
    transformed: 0,
    staleBases: 0,
    applied: 0,
    duplicates: 0,
    resent: 0,
    served: 0,
    queueDrops: 0,
    throttled: 0,
    pending: 0,
    queueDepth: 0,
    children: 0,
    epoch: 0,
    docs: {},
    handlerLatency: emptyHistogram(),
    sentByKind: {},
    receivedByKind: {},
  }
}
