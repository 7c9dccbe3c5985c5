import { emptyHistogram, type Histogram } from './histogram.js'
import type { TransportStats } from '../transport.js'

/**
 * Why a well-formed input about the tree was refused (counted in `refusals`):
 * - `forged-control`: a heartbeat, roster or welcome on the parent's channel not sent by the parent;
 * - `future-epoch`: an epoch above the one this endpoint's tree has reached, not from its parent;
 * - `stale-epoch`: a message of an epoch that is over;
 * - `stale-roster`: a roster older than the one held;
 * - `loop`: a join, welcome or heartbeat chain that would make (or shows) a parent loop;
 * - `bad-chain`: an ancestor chain that does not start with the parent, or is malformed or too deep;
 * - `stale-candidate`: a successor candidate's address answered with another endpoint (a restarted process);
 * - `not-joined`: a message from an endpoint that is not a child here;
 * - `restarted-child`: a child came back as a new process under its old id (its old state is dropped);
 * - `unissued-epoch`: with a coordinator, a leadership claim at an epoch it never issued (forged or garbled).
 */
export type RefusalReason =
  'forged-control' | 'future-epoch' | 'stale-epoch' | 'stale-roster' | 'loop' | 'bad-chain' | 'stale-candidate' | 'not-joined' | 'restarted-child' | 'seeking' | 'unissued-epoch'

/**
 * What application handlers in worker threads did (`handle(kind, { worker })`). A failure is
 * also counted in `handlerErrors`.
 */
export interface WorkerCounters {
  /** Messages a worker handler completed. */
  workerTasks: number
  /** Messages whose worker handler threw (or returned what cannot cross threads). */
  workerErrors: number
  /** Messages whose worker handler ran past its `timeoutMs`; each terminated and replaced a thread. */
  workerTimeouts: number
  /** Worker threads that died under a message or between messages, and were replaced. */
  workerCrashes: number
  /** Messages run again on a fresh thread after their thread died under them. */
  workerRetries: number
}

/** Counters every endpoint keeps; `endpoint.stats()` returns a copy. */
export interface EndpointStats extends WorkerCounters {
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
  /** Server hooks (`validate`, `onChange`, `onLoad`, `onStore`) that threw, rejected or timed out. */
  hookErrors: number
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
  /**
   * Frames from children dropped because their `sender` or `origin` is not the connection they
   * came on (or a descendant that child introduced): forged identities.
   */
  forged: number
  /** Refusals sent to peers (and identity violations dropped), by PROTOCOL.md code (`ERR_BAD_VALUE`, `ERR_IDENTITY`, …). */
  refusedByCode: Record<string, number>
  /** Inputs about the tree refused, by reason (see {@link RefusalReason}). */
  refusals: Partial<Record<RefusalReason, number>>
  /** Times this endpoint was promoted to root. */
  promotions: number
  /** Times a coordinated root's leadership lapsed (its lease could not be renewed in time) and it stepped down. */
  leaseLapses: number
  /** Gauges, filled in by `stats()`. */
  pending: number
  queueDepth: number
  children: number
  /**
   * Endpoints below this one: its children and, as the relays among them report in their
   * heartbeats, theirs (about one heartbeat period late per hop). At a root: the tree's size.
   */
  descendants: number
  epoch: number
  /** Head seq of every open document. */
  docs: Record<string, number>
  /** Time spent in message handlers (built-in and application), in milliseconds. */
  handlerLatency: Histogram
  /**
   * What the transport (and `joinTransport`, when it differs) counted on the wire: sent,
   * received, dropped past a high-water mark, too large, malformed. Filled in by `stats()`;
   * a transport shared by several endpoints counts for all of them.
   */
  wire?: TransportStats
  /** Sent and received counts per message kind name. */
  sentByKind: Record<string, number>
  receivedByKind: Record<string, number>
}

export type Counter = Exclude<keyof EndpointStats, 'pending' | 'queueDepth' | 'children' | 'epoch' | 'docs' | 'sentByKind' | 'receivedByKind' | 'handlerLatency' | 'refusals' | 'refusedByCode'>

export function emptyStats(): EndpointStats {
  return {
    sent: 0,
    received: 0,
    badFrames: 0,
    dropped: 0,
    handlerErrors: 0,
    hookErrors: 0,
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
    forged: 0,
    refusedByCode: {},
    refusals: {},
    promotions: 0,
    leaseLapses: 0,
    workerTasks: 0,
    workerErrors: 0,
    workerTimeouts: 0,
    workerCrashes: 0,
    workerRetries: 0,
    pending: 0,
    queueDepth: 0,
    children: 0,
    descendants: 0,
    epoch: 0,
    docs: {},
    handlerLatency: emptyHistogram(),
    sentByKind: {},
    receivedByKind: {},
  }
}
