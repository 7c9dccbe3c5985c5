import type { EndpointError } from '../errors.js'
import type { TypedEmitter } from '../events.js'
import type { DocId, EndpointId } from '../ids.js'
import type { Logger } from '../logger.js'
import type { Message } from '../protocol/codec.js'
import type { AddressInfo } from '../protocol/payloads.js'
import type { Clock } from '../runtime/clock.js'
import type { EndpointStats, RefusalReason } from '../runtime/stats.js'
import type { AppHandlers } from './app-handlers.js'
import type { Children } from './children.js'
import type { JoinGate } from './join-gate.js'
import type { PresenceOut } from './presence-out.js'
import type { Peer } from './roster.js'
import type { EndpointAddresses, ResolvedOptions } from './options.js'
import type { ParentLink } from './parent-link.js'
import type { ReplicaSet } from './replicas.js'
import type { Succession } from './succession.js'
import type { PeerIdentity } from '../transport.js'
import type { Identities } from './identity.js'
import type { DocumentSizes } from './document-size.js'
import type { CoordinationView } from './coordinator.js'
import type { AccessCache } from './access-cache.js'
import type { Grants } from './grants.js'

/** An endpoint's place in the tree: `host` (no parent: the root), `relay` (a parent and children), `client` (a parent, no children). */
export type Role = 'host' | 'relay' | 'client'

/** Events of an {@link Endpoint} and their listener arguments; subscribe with `endpoint.on`. */
export type EndpointEvents = {
  /** The endpoint's place in the tree changed. */
  role: [role: Role]
  /** The roster this endpoint sees changed: its children if it has any, else its siblings. */
  peers: [peers: Peer[]]
  /** The parent has been silent for peerTimeoutMs; a failover starts. */
  'parent-lost': []
  /** Connected to the tree again after 'parent-lost': a parent answers (the old one or a successor), or this endpoint became the root. */
  'parent-back': []
  /** Something went wrong that the application may want to show (refusals, access denied, a failed server hook). */
  error: [error: EndpointError]
  /** The endpoint closed; no events follow. */
  closed: []
}

/** One message on its way to a handler. */
export interface Work {
  message: Message
  /** `answer`: the root answering one of its own changes (an ACK of a duplicate, a RESEND). */
  from: 'child' | 'parent' | 'self' | 'answer'
  topic: string
  /** For messages from a parent: the link they came on (stale after a failover). */
  link?: ParentLink
  /** For messages from children: who sent it, when the transport knows (WebSocket does). */
  peer?: PeerIdentity
}

/** A handler of one message kind. */
export type Handler = (node: NodeContext, work: Work) => void | Promise<void>

/**
 * What handlers, the tick, failover and fencing see of an endpoint: its owned parts
 * (succession, children, replicas, the parent link) and the ways to send. The Node
 * implements it; nothing here imports the Node, so the parts form no import cycle.
 */
export interface NodeContext {
  readonly id: EndpointId
  readonly opts: ResolvedOptions
  readonly clock: Clock
  readonly logger: Logger
  readonly stats: EndpointStats
  readonly events: TypedEmitter<EndpointEvents>
  readonly succession: Succession
  /** Set when a coordinator (etcd) decides the root: its word replaces succession and fencing. */
  readonly coordination: CoordinationView | undefined
  /**
   * The ancestors above the parent lost in the last failover, kept for the next one: a parent
   * met during a failover may show no ancestors yet (it was re-attaching itself), and its
   * death must not make an orphan believe there is nothing above it.
   */
  formerAncestors: Array<{ id: EndpointId; addresses: EndpointAddresses }>
  readonly children: Children
  /** The presence a root publishes, batched per tick. */
  readonly presenceOut: PresenceOut
  /** Admission of new children: bursts wait their turn, then are refused with ERR_BUSY. */
  readonly joins: JoinGate
  /** Which connection each child joined on, and whom each child speaks for. */
  readonly identities: Identities
  /** At a relay: the root's `authorize` decisions it serves opens on, and its questions in flight. */
  readonly access: AccessCache
  /** The readers each document is served to, and when their access was last decided. */
  readonly grants: Grants
  /** The root's estimate of each document's size, for `maxDocumentBytes`. */
  readonly documentSizes: DocumentSizes
  /** When an identity violation was last logged (logged at most once a second). */
  forgedLoggedAt: number
  readonly replicas: ReplicaSet
  /** The application's handlers, inline or in worker threads. */
  readonly appHandlers: AppHandlers
  /** The current parent link (undefined at a root and in limbo). */
  readonly parent: ParentLink | undefined
  readonly addresses: EndpointAddresses | undefined
  readonly closed: boolean
  /** Restarted as a non-root and still looking for its tree: it serves nobody meanwhile. */
  readonly seeking: boolean
  /** This endpoint first, then its ancestors (as children see it). */
  ancestorChain(): AddressInfo[]
  /** Counts a refused input under its reason (`stats().refusals`). */
  refusal(reason: RefusalReason): void

  publish(topic: string, bytes: Uint8Array): void
  sendUp(bytes: Uint8Array): void
  sendTo(endpoint: EndpointId, bytes: Uint8Array): void
  /** A targeted refusal on this endpoint's PUB, topic e/<to>. */
  refuse(to: EndpointId, code: string, reason: string, doc?: DocId | '', clientSeq?: number, retryAfterMs?: number): void
  countSent(kind: number): void
  defer(fn: () => void): void
  /** Subscribes upstream to replies for a descendant whose messages this relay forwards. */
  watchOrigin(origin: EndpointId): void

  /** Connects to a parent and waits for its welcome (from `expect`, when given). */
  join(addresses: EndpointAddresses, timeoutMs: number, expect?: EndpointId, signal?: AbortSignal): Promise<void>
  detachParent(): Promise<void>
  sendHello(): void
  /** The parent's welcome arrived. */
  welcomed(parentId: EndpointId): void
  /** The parent refused the join. */
  joinRefused(reason: string, code?: string): void
  /** The parent is heard again after 'parent-lost' (or this endpoint became the root). */
  parentBack(): void
  updateRole(): void
  /** The children changed: publish the roster's delta (once per tick), update the role, emit `peers`. */
  childrenChanged(): void
  /** Sends the whole roster to one child. */
  sendRoster(child: EndpointId): void
  removeChild(id: EndpointId, why: 'left' | 'silent'): void
  /** Starts the failover (once), after the parent was found dead. */
  startFailover(why: string): void
  /** Recovery may be over: check and, if so, resume sequencing. */
  maybeEndRecovery(): void
  /** A stranger's heartbeat says it is a root that may outrank this one: listen to it. */
  hintNewerRoot(at: EndpointAddresses): void
  /** The parent showed this chain above us: remembered, to listen there if we ever become a root. */
  sawAncestors(chain: readonly AddressInfo[]): void
  /** Whether opens can be answered now (not in limbo, not recovering, not re-syncing). */
  isSettled(): boolean
}
