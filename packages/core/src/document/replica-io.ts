import type { ChangeEvent, ChangeRequest, StoreRequest, Verdict } from '../endpoint/hooks.js'
import type { DocId, EndpointId } from '../ids.js'
import type { Logger } from '../logger.js'
import type { EndpointStats } from '../runtime/stats.js'
import type { Storage } from '../storage.js'
import type { Replica } from './replica.js'

/** What a replica needs from its endpoint: the network, seen as intentions. */
export interface ReplicaIO {
  readonly self: EndpointId
  readonly logger: Logger
  readonly stats: EndpointStats
  epoch(): number
  /**
   * The endpoint's clock (ms): resend, catch-up and give-up timers read it, so a replay on a
   * fake clock covers them too.
   */
  now(): number
  /**
   * False while this root may not acknowledge anything (a coordinator cannot prove its
   * leadership still holds): the sequencer then keeps what it has staged and waits.
   */
  mayConfirm?(): boolean
  /** True while this endpoint is the root (it sequences). */
  isRoot(): boolean
  /**
   * False when this endpoint can never sequence: it is set up to bind nothing, so it is never
   * promoted (a leaf). Its replicas then keep no op history, which only a root reads; 10,000 old ops kept
   * alive were most of a reader's garbage-collection work. Absent: it may (the history is kept).
   */
  canSequence?(): boolean
  /** Sends an encoded message towards the root. */
  sendUp(bytes: Uint8Array): void
  /** Publishes encoded sequenced fragments of `doc` to the children, in order. */
  publishFragments(doc: DocId, envelopes: Uint8Array[]): void
  /** Publishes one encoded message on the document's topic (presence). */
  publishOnDoc(doc: DocId, bytes: Uint8Array): void
  /** Sends a targeted reply to an endpoint below. */
  sendTo(endpoint: EndpointId, bytes: Uint8Array): void
  /** Runs `fn` once the current batch of I/O has been read (one apply per tick). */
  defer(fn: () => void): void
  /**
   * Runs `fn` after a turn of the event loop (timers and I/O first): where a long job goes on
   * in slices. Without it, `defer`.
   */
  later?(fn: () => void): void
  /** The root's durable storage, if any (only the sequencer uses it). */
  readonly storage: Storage | undefined
  /** Writes a snapshot when the snapshot policy says so. */
  maybeSnapshot(replica: Replica): void
  /** The root's server hooks, when the application gave any (see ServerHooks). */
  readonly hooks: SequencerHooks | undefined
}

/** What the sequencer asks of the server hooks. */
export interface SequencerHooks {
  /** True when changes from other endpoints pass the validate hook. */
  readonly validates: boolean
  /** True when sequenced changes are reported (onChange, onStore). */
  readonly notifies: boolean
  /** Never throws or rejects: a failing hook is a refusal with a reason. */
  validate(request: ChangeRequest): Verdict | Promise<Verdict>
  /** Changes sequenced and durable, in seq order; `read` gives the state to store. */
  sequenced(doc: DocId, events: readonly ChangeEvent[], read: () => StoreRequest): void
}
