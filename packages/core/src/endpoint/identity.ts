import type { DocId, EndpointId } from '../ids.js'
import { CONTROL_TOPIC, docTopic, endpointTopic } from '../protocol/topics.js'
import type { PeerIdentity, PubChannel, PullChannel } from '../transport.js'

/** Why a frame from below was refused on identity grounds; each is counted in `stats().forged`. */
export type IdentityViolation =
  /** A HELLO for an id that another, still connected, session holds. */
  | 'id-taken'
  /** A second id on a session that already holds a live child: one connection, one endpoint. */
  | 'session-busy'
  /** A frame whose `sender` is not the child its session joined as. */
  | 'wrong-sender'
  /** An `origin` that is not the sender nor a descendant the sender introduced. */
  | 'wrong-origin'
  /** A BRANCH (fragments under other endpoints' origins) from a child that cannot be promoted. */
  | 'branch-from-leaf'

/**
 * A parent's binding of its children's ids to the connections they joined on, and of the
 * descendants each child introduced (relays forward their children's messages as `origin`).
 *
 * Where the transport knows the sender's session (`ReceivedFrames.peer`: WebSocket's session,
 * ZeroMQ's routing id), the id is the session's: a HELLO binds them, and from then on a frame
 * claiming that id from another session is refused, as is a second id on one session (a
 * fresh-id flood on one socket gets one id). Where it does not (the in-process transport),
 * only the descendant rule below applies.
 *
 * Descendants: a child that cannot bind (a leaf, e.g. a browser tab) may only speak for
 * itself. A relay child may speak for descendants: an id is claimed by the first relay that
 * forwards it and stays its own until that relay leaves, falls silent (a failover moves a
 * subtree to another relay), or stops speaking for it for two peer timeouts (the descendant
 * moved under another of our relays, or a relay passed up a few of its fragments once after a
 * failover); it can never be this endpoint, an ancestor or a direct child. So a relay child
 * can take over the id of a descendant that is quiet under another relay: relays (they bind;
 * a browser tab cannot be one) are trusted to route honestly, and `authenticate`, CURVE or
 * TLS decide who may be one.
 *
 * Gating: on a gated PUB (`PubChannel.admit`), a session receives only `e/<its id>` once it
 * says HELLO (so it hears its welcome or refusal), `c` once it is admitted, and `d/<doc>` for
 * each document served to it. A peer that has not passed `authenticate` gets nothing else.
 */
export class Identities {
  /** child id → its session. */
  readonly #sessionOf = new Map<EndpointId, string>()
  /** session → child id. */
  readonly #idOf = new Map<string, EndpointId>()
  /** descendant id → the child that introduced it, and when that child last spoke for it. */
  readonly #claims = new Map<EndpointId, { by: EndpointId; at: number }>()
  /** child id → descendants it introduced. */
  readonly #claimed = new Map<EndpointId, Set<EndpointId>>()

  constructor(
    private readonly pull: () => PullChannel | undefined,
    private readonly pub: () => PubChannel | undefined,
  ) {}

  /** True when the outbound PUB filters per session: then admission is what a peer receives. */
  get gated(): boolean {
    return typeof this.pub()?.admit === 'function'
  }

  /** The session `id` is bound to, if any. */
  sessionOf(id: EndpointId): string | undefined {
    return this.#sessionOf.get(id)
  }

  /**
   * A HELLO from `id` on `peer`'s session. Binds them, or says why not; `'moved'` when the id
   * was bound to another (closed) session before. `isChild` tells whether an id is a live child
   * here (a session whose child is gone may take a new id).
   */
  hello(id: EndpointId, peer: PeerIdentity | undefined, isChild: (id: EndpointId) => boolean): IdentityViolation | 'moved' | undefined {
    if (!peer) return undefined
    const session = peer.session
    const holder = this.#sessionOf.get(id)
    if (holder !== undefined && holder !== session && this.#connected(holder)) return 'id-taken'
    const current = this.#idOf.get(session)
    if (current !== undefined && current !== id && isChild(current)) return 'session-busy'
    if (holder !== undefined && holder !== session) this.#unbindSession(holder)
    if (current !== undefined && current !== id) {
      // The session's previous id is gone: what it was admitted to goes with it.
      this.#unbindId(current)
      this.pub()?.revoke?.(session)
    }
    this.#sessionOf.set(id, session)
    this.#idOf.set(session, id)
    // It must hear its welcome or its refusal, and nothing else yet.
    this.pub()?.admit?.(session, endpointTopic(id))
    // An id that moved to a new connection must pass `authenticate` again, even if still a child.
    return holder !== undefined && holder !== session ? 'moved' : undefined
  }

  /**
   * Whether `session` is bound to `id`: true, false when it is bound to another id or `id` to
   * another session, undefined when neither is bound.
   */
  speaksAs(session: string, id: EndpointId): boolean | undefined {
    const bound = this.#idOf.get(session)
    const holder = this.#sessionOf.get(id)
    if (bound === undefined && holder === undefined) return undefined
    return bound === id && holder === session
  }

  /**
   * Whether to tell `id` to say hello again, a frame of it having come on another session: true
   * when its bound session is no longer connected (at most once a second per id; it records
   * the asking). A hello on the new session then moves the id there.
   * Two links of one child can cross: a hello on the old one still queued here binds the old
   * session and welcomes the child, whose new link, welcomed by that, never says hello again;
   * when the old one closes, every frame on the new one is `wrong-sender` for good, and the
   * parent waits on that child forever (sharded chaos seed 153).
   */
  rejoinDue(id: EndpointId, now: number): boolean {
    const holder = this.#sessionOf.get(id)
    if (holder === undefined || this.#connected(holder)) return false
    if (now - (this.#rejoinAskedAt.get(id) ?? -Infinity) < 1000) return false
    this.#rejoinAskedAt.set(id, now)
    if (this.#rejoinAskedAt.size > 4096) this.#rejoinAskedAt.delete(this.#rejoinAskedAt.keys().next().value!)
    return true
  }

  /** When each id bound to a closed session was last told to join again (see rejoinDue). */
  readonly #rejoinAskedAt = new Map<EndpointId, number>()

  /** The child passed `authenticate` and is in the roster: it may hear the control topic. */
  admitted(id: EndpointId): void {
    const session = this.#sessionOf.get(id)
    if (session !== undefined) this.pub()?.admit?.(session, CONTROL_TOPIC)
  }

  /** A document is served to `child` (or a descendant of it): its session may hear it. */
  admitDoc(child: EndpointId, doc: DocId): void {
    const session = this.#sessionOf.get(child)
    if (session !== undefined) this.pub()?.admit?.(session, docTopic(doc))
  }

  /** `child` closed `doc`. */
  revokeDoc(child: EndpointId, doc: DocId): void {
    const session = this.#sessionOf.get(child)
    if (session !== undefined) this.pub()?.revoke?.(session, docTopic(doc))
  }

  /**
   * A frame from below: `sender` came on `peer`'s session (when known) and speaks for `origin`.
   * `canRelay` tells whether the sender binds (only a relay may speak for others); `isChild`
   * whether an id is a direct child here; `self` is this endpoint's id; a claim the claimant
   * has not used since `idleBefore` may move.
   */
  check(
    sender: EndpointId,
    origin: EndpointId,
    peer: PeerIdentity | undefined,
    canRelay: boolean,
    isChild: (id: EndpointId) => boolean,
    isStale: (id: EndpointId) => boolean,
    self: EndpointId,
    now = 0,
    idleBefore = -Infinity,
  ): IdentityViolation | undefined {
    if (peer) {
      const session = this.#sessionOf.get(sender)
      if (session !== peer.session) return 'wrong-sender'
    }
    if (origin === sender) return undefined
    if (!canRelay || origin === self || isChild(origin)) return 'wrong-origin'
    const claim = this.#claims.get(origin)
    const claimant = claim?.by
    if (claimant === sender) {
      claim!.at = now
      return undefined
    }
    // A claim held by a relay that left, or fell silent (its subtree moved in a failover), moves;
    // so does one its relay stopped using (the descendant moved under another relay of ours,
    // or the relay only passed up a few of its fragments once, after a failover). Otherwise the
    // descendant's own frames through its real path would be refused for as long as that relay
    // lives. A live claim in use never moves.
    if (claim !== undefined && isChild(claim.by) && !isStale(claim.by) && claim.at >= idleBefore) return 'wrong-origin'
    if (claimant !== undefined) this.#claimed.get(claimant)?.delete(origin)
    this.#claims.set(origin, { by: sender, at: now })
    let set = this.#claimed.get(sender)
    if (!set) this.#claimed.set(sender, (set = new Set()))
    set.add(origin)
    // Replies to the descendant travel on e/<descendant>: the relay must hear them.
    const session = this.#sessionOf.get(sender)
    if (session !== undefined) this.pub()?.admit?.(session, endpointTopic(origin))
    return undefined
  }

  /**
   * `id` is no longer a child (left, silent, refused). Its descendants' claims go; its session
   * keeps only `e/<id>` (so it hears ERR_NOT_JOINED and can join again) while connected.
   */
  childGone(id: EndpointId): void {
    for (const origin of this.#claimed.get(id) ?? []) if (this.#claims.get(origin)?.by === id) this.#claims.delete(origin)
    this.#claimed.delete(id)
    const session = this.#sessionOf.get(id)
    if (session === undefined) return
    const pub = this.pub()
    pub?.revoke?.(session)
    if (this.#connected(session)) pub?.admit?.(session, endpointTopic(id))
    else this.#unbindSession(session)
  }

  /**
   * `id` failed `authenticate` on the session it just said HELLO on: that session loses the id
   * (and everything it was admitted to), so a refused peer cannot hold an id it claimed.
   */
  refused(id: EndpointId): void {
    const session = this.#sessionOf.get(id)
    if (session !== undefined) this.#unbindSession(session)
  }

  /** Forgets bindings of sessions that are gone, keeping the maps as small as the live peers. */
  sweep(isChild: (id: EndpointId) => boolean): void {
    for (const [session, id] of this.#idOf) if (!isChild(id) && !this.#connected(session)) this.#unbindSession(session)
  }

  get size(): number {
    return this.#idOf.size
  }

  #connected(session: string): boolean {
    const pull = this.pull()
    return pull?.isConnected ? pull.isConnected(session) : true
  }

  #unbindSession(session: string): void {
    const id = this.#idOf.get(session)
    this.#idOf.delete(session)
    if (id !== undefined && this.#sessionOf.get(id) === session) this.#sessionOf.delete(id)
    this.pub()?.revoke?.(session)
  }

  #unbindId(id: EndpointId): void {
    const session = this.#sessionOf.get(id)
    this.#sessionOf.delete(id)
    if (session !== undefined && this.#idOf.get(session) === id) this.#idOf.delete(session)
  }
}
