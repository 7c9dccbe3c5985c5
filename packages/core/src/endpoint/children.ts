import type { DocId, EndpointId } from '../ids.js'
import type { EndpointAddresses } from './options.js'
import { RosterLog, type Peer } from './roster.js'
import { TokenBucket, type RateLimit } from '../runtime/rate-limit.js'
import type { DocHead } from '../protocol/payloads.js'

export type { Peer } from './roster.js'

export interface Child extends Peer {
  /** Random per process: another value under the same id means the child restarted. */
  incarnation: number
  lastHeard: number
  /** When its last HELLO was heard: what it holds is as it said then. */
  helloAt: number
  docs: Set<DocId>
  /** The heads of its documents as its last HELLO gave them (a promoted parent fetches beyond its own). */
  heads?: readonly DocHead[]
  /** Endpoints in its subtree, itself included, as its last heartbeat said (a leaf's is 1). */
  subtree: number
  /** Its peerTimeoutMs as its HELLO said (absent: unknown); the idle heartbeat down covers the shortest. */
  peerTimeoutMs?: number
  /** Its rate limit, when the parent has one. */
  bucket?: TokenBucket
  /** When it was last told it is throttled (told at most once a second). */
  throttleNoticeAt: number
}

/**
 * A parent's children: who they are, since when, what they have open, their rate buckets,
 * and who was seen recently (a root that loses its children probes them for a newer tree).
 */
export class Children {
  readonly #children = new Map<EndpointId, Child>()
  /** Children that bind, seen recently, most recent last (at most 64). */
  #recent: Peer[] = []
  /** Children dropped for silence, until when they are worth probing for a newer root. */
  readonly #lost = new Map<EndpointId, number>()
  #joinCounter = 0
  /** The sum of the children's `subtree`: every endpoint below this one, as last reported. */
  #descendants = 0
  /** Cache of `shortestPeerTimeout` (undefined: to compute again). */
  #shortest: number | undefined = undefined
  /** The children that can be promoted: what the succession needs, and all a roster carries. */
  readonly roster = new RosterLog()

  constructor(readonly rateLimit: RateLimit | undefined) {}

  /** The roster's version (leaves joining and leaving do not change it). */
  get version(): number {
    return this.roster.version
  }

  get size(): number {
    return this.#children.size
  }

  get(id: EndpointId): Child | undefined {
    return this.#children.get(id)
  }

  has(id: EndpointId): boolean {
    return this.#children.has(id)
  }

  values(): IterableIterator<Child> {
    return this.#children.values()
  }

  /** The shortest peerTimeoutMs a child said it has (Infinity: none said), cached until a child changes it. */
  get shortestPeerTimeout(): number {
    if (this.#shortest === undefined) {
      let min = Infinity
      for (const c of this.#children.values()) if (c.peerTimeoutMs !== undefined && c.peerTimeoutMs < min) min = c.peerTimeoutMs
      this.#shortest = min
    }
    return this.#shortest
  }

  /**
   * Endpoints below this one: its children and, as each relay among them reported in its
   * heartbeat, theirs (hop by hop, so a root learns the size of a tree of 10,000 from its
   * few relays, never from the leaves).
   */
  get descendants(): number {
    return this.#descendants
  }

  /** What a child's heartbeat said its subtree holds (itself included; 0: just itself). */
  setSubtree(id: EndpointId, endpoints: number): void {
    const child = this.#children.get(id)
    if (!child) return
    // A count is only reported, never acted on; bounded so that a lying child cannot overflow the sum.
    const value = Math.min(Math.max(1, endpoints), 2 ** 32)
    this.#descendants += value - child.subtree
    child.subtree = value
  }

  /** What a child's HELLO said its peerTimeoutMs is (0: unknown). */
  setPeerTimeout(id: EndpointId, ms: number): void {
    const child = this.#children.get(id)
    const value = ms > 0 ? ms : undefined
    if (!child || child.peerTimeoutMs === value) return
    child.peerTimeoutMs = value
    this.#shortest = undefined
  }

  /**
   * Adds or refreshes a child; returns true if it is new. `previousOrder` keeps the join order
   * a survivor had under the dead parent, so the succession order stays the same after a
   * failover (otherwise whoever re-joined first would jump the queue).
   */
  upsert(id: EndpointId, addresses: EndpointAddresses | undefined, priority: number, now: number, previousOrder?: number, incarnation = 0): boolean {
    const existing = this.#children.get(id)
    if (existing) {
      existing.lastHeard = now
      existing.helloAt = now
      return false
    }
    const joinOrder = previousOrder ?? ++this.#joinCounter
    this.#joinCounter = Math.max(this.#joinCounter, joinOrder)
    const child: Child = { id, incarnation, addresses, priority, joinOrder, lastHeard: now, helloAt: now, docs: new Set(), throttleNoticeAt: 0, subtree: 1 }
    if (this.rateLimit) child.bucket = new TokenBucket(this.rateLimit)
    this.#children.set(id, child)
    this.#descendants += 1
    this.#lost.delete(id)
    if (addresses) {
      this.#remember(child)
      this.roster.add({ id, addresses, joinOrder, priority })
    }
    return true
  }

  /** Removes a child; one dropped for silence is remembered until `lostUntil`. */
  remove(id: EndpointId, lostUntil = 0): Child | undefined {
    const child = this.#children.get(id)
    if (!child) return undefined
    this.#children.delete(id)
    this.#descendants -= child.subtree
    if (child.peerTimeoutMs !== undefined) this.#shortest = undefined
    if (lostUntil > 0) this.#lost.set(id, lostUntil)
    this.roster.remove(id)
    return child
  }

  /** A frame from `id` was read: it is alive. */
  heard(id: EndpointId, now: number): Child | undefined {
    const child = this.#children.get(id)
    if (child) child.lastHeard = now
    return child
  }

  /** Everyone counts as heard now (this endpoint could not listen: it was stalled). */
  touchAll(now: number): void {
    for (const c of this.#children.values()) c.lastHeard = Math.max(c.lastHeard, now)
  }

  /**
   * Who a root should listen to for a newer tree: with children left, those lost to silence
   * lately; with none, everyone seen recently.
   */
  probeTargets(now: number): Peer[] {
    for (const [id, until] of this.#lost) if (until < now) this.#lost.delete(id)
    return this.#children.size === 0 ? [...this.#recent] : this.#recent.filter((p) => this.#lost.has(p.id))
  }

  /** Forgets who was seen (after re-joining a newer tree as a client). */
  forgetRecent(): void {
    this.#recent = []
    this.#lost.clear()
  }

  /**
   * Keeps `child` among the 64 seen most recently that bind (only they can be probed for a
   * newer tree), in constant work per join whatever the number of children.
   */
  #remember(child: Peer): void {
    const { id, addresses, joinOrder, priority } = child
    const at = this.#recent.findIndex((p) => p.id === id)
    if (at >= 0) this.#recent.splice(at, 1)
    this.#recent.push({ id, addresses, joinOrder, priority })
    if (this.#recent.length > 64) this.#recent.shift()
  }

  /** Children silent since before `deadline`. */
  silentSince(deadline: number): Child[] {
    return [...this.#children.values()].filter((c) => c.lastHeard < deadline)
  }

  peers(): Peer[] {
    return [...this.#children.values()].map(({ id, addresses, joinOrder, priority }) => ({ id, addresses, joinOrder, priority }))
  }
}
