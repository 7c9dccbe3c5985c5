import type { EndpointId } from '../ids.js'
import type { Logger } from '../logger.js'
import type { EndpointAddresses } from './addresses.js'

/**
 * Who decides the root and its epoch. The default (`'peers'`, no coordinator) is the embedded
 * succession: survivors elect a new root from the last roster, with no service to run, but
 * without a quorum a paused root or a partition can fork the tree for a while. A `Coordinator`
 * hands that decision to a service with a quorum (etcd: `@zinc/coordinator-etcd`); the
 * endpoint then never promotes itself, never steps down on a heartbeat it hears, and follows
 * exactly what the service says. Kept free of any client library, so core stays browser-safe.
 */
export interface Coordinator {
  /** Where the service is, for logs and errors (e.g. `etcd://127.0.0.1:2379`). */
  readonly name: string
  /**
   * Connects and enters the election for `member`. Resolves once connected and campaigning;
   * rejects with an error naming the service's address when it cannot be reached.
   */
  start(member: CoordinatedMember): Promise<void>
  /**
   * True only while this member's leadership is certainly still valid (its lease renewed
   * recently enough, with a margin for clock drift). A root acknowledges nothing otherwise.
   */
  mayConfirm(): boolean
  /** The highest epoch the service has issued that this member knows of (0 before any). */
  readonly issuedEpoch: number
  /** Resigns (a successor is elected at once, not after the lease) and disconnects. */
  close(): Promise<void>
  /**
   * True when this member may be made root of documents it never held (documents sharded
   * across hosts: a shard moves to a host that never served it). Recovery then takes each
   * survivor's snapshot of the documents it lacks (see `adoptFromSurvivor`). Default false.
   */
  readonly adoptsDocuments?: boolean
  /**
   * Called by a root before it loads a document it does not hold in memory, from its store or
   * anew from the opener's `initial`. Resolves when this root's store (or a fresh seed, for a
   * document that exists nowhere) is the document's latest copy. Rejects, saying where that copy
   * is and what to do, when it is elsewhere (another host's store, documents sharded across
   * hosts): the open is then refused `ERR_UNAVAILABLE` and retried by the opener, so no change is
   * ever confirmed on a copy that would replace that one. Absent: every document may be loaded.
   * `opening`: an opener waits for the document (the coordinator may act to have it served,
   * e.g. move the shard to the host that stores it); false when the root only asks whether its
   * stored copy is the latest (recovery, a handover). An error with code `STORED_ELSEWHERE_CODE`
   * and `holderRunning: true` (that host runs, and can be given the document's shard) also keeps
   * a recovering root from adopting a survivor's copy of the document, which may lag the holder's.
   */
  checkDocument?(doc: string, opening?: boolean): Promise<void>
}

/** The endpoint as a coordinator sees it: what it is told to do. */
export interface CoordinatedMember {
  readonly id: EndpointId
  readonly addresses: EndpointAddresses
  readonly logger: Logger
  /**
   * The service elected this member; `epoch` is its fencing token (rises with every leader).
   * `handover`: the previous leader, alive, gave the role up (a shard moving to this host):
   * recovery waits for it to re-join and takes what it holds, however long that takes (no open
   * is answered meanwhile), until `handoverGone`.
   */
  lead(epoch: number, handover?: Leader): void
  /**
   * The leader that handed over (see `lead`) is gone for good before re-joining: its host died
   * or left. Recovery, which waits for it without a time limit otherwise, stops waiting.
   */
  handoverGone?(id: EndpointId, why: string): void
  /** Another member leads at `epoch`: join it. */
  follow(leader: Leader): void
  /** This member's leadership is over (its lease lapsed or was lost): stop acknowledging, step down. */
  lapsed(why: string): void
  /**
   * Before a handover (a shard moving to another host while this root is alive): loads every
   * document in this member's storage that `owns` accepts and that is not in memory, so the next
   * root recovers it from this one (it re-joins as a client and is fetched from). No-op without storage.
   */
  prepareHandover?(owns: (doc: string) => boolean): Promise<void>
}

/** A leader as the service announces it. */
export interface Leader {
  id: EndpointId
  epoch: number
  addresses: EndpointAddresses
}

/** What handlers need of the coordination (NodeContext.coordination). */
export interface CoordinationView {
  /** False for an epoch above any the service issued: a forged or garbled claim. */
  issued(epoch: number): boolean
  /** Whether a recovering root takes survivors' documents it never held (see Coordinator.adoptsDocuments). */
  readonly adoptsDocuments: boolean
  /** The parent went silent: re-join the leader the service names (never self-promote). */
  parentSilent(why: string): void
  /** Whether this root may acknowledge (sequence, publish confirmations) now: its lease is certain. */
  mayConfirm(): boolean
}
