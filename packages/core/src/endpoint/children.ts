import { endpointIdFromBytes, endpointIdToBytes, type DocId, type EndpointId } from '../ids.js'
import { RosterCodec, type Roster } from '../protocol/payloads.js'
import type { EndpointAddresses } from './options.js'
import { TokenBucket, type RateLimit } from '../runtime/rate-limit.js'

/** One member of a level of the tree, as the parent publishes it. */
export interface Peer {
  id: EndpointId
  /** Undefined for a leaf that binds nothing (it can never be promoted). */
  addresses: EndpointAddresses | undefined
  joinOrder: number
  priority: number
}

export interface Child extends Peer {
  /** Random per process: another value under the same id means the child restarted. */
  incarnation: number
  lastHeard: number
  docs: Set<DocId>
  /** The heads of its documents as its last HELLO gave them (a promoted parent fetches beyond its own). */
  heads?: ReadonlyArray<{ doc: string; seq: number }>
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
  /** Children seen recently, most recent last (at most 64). */
  #recent: Peer[] = []
  /** Children dropped for silence, until when they are worth probing for a newer root. */
  readonly #lost = new Map<EndpointId, number>()
  #joinCounter = 0
  #version = 0

  constructor(readonly rateLimit: RateLimit | undefined) {}

  get version(): number {
    return this.#version
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

  /**
   * Adds or refreshes a child; returns true if it is new. `previousOrder` keeps the join order
   * a survivor had under the dead parent, so the succession order stays the same after a
   * failover (otherwise whoever re-joined first would jump the queue).
   */
  upsert(id: EndpointId, addresses: EndpointAddresses | undefined, priority: number, now: number, previousOrder?: number, incarnation = 0): boolean {
    const existing = this.#children.get(id)
    if (existing) {
      existing.lastHeard = now
      return false
    }
    const joinOrder = previousOrder ?? ++this.#joinCounter
    this.#joinCounter = Math.max(this.#joinCounter, joinOrder)
    const child: Child = { id, incarnation, addresses, priority, joinOrder, lastHeard: now, docs: new Set(), throttleNoticeAt: 0 }
    if (this.rateLimit) child.bucket = new TokenBucket(this.rateLimit)
    this.#children.set(id, child)
    this.#lost.delete(id)
    this.#remember()
    this.#version++
    return true
  }

  /** Removes a child; one dropped for silence is remembered until `lostUntil`. */
  remove(id: EndpointId, lostUntil = 0): Child | undefined {
    const child = this.#children.get(id)
    if (!child) return undefined
    this.#children.delete(id)
    if (lostUntil > 0) this.#lost.set(id, lostUntil)
    this.#version++
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

  #remember(): void {
    const known = new Map(this.#recent.map((p) => [p.id, p]))
    for (const p of this.peers()) known.set(p.id, p)
    this.#recent = [...known.values()].slice(-64)
  }

  /** Children silent since before `deadline`. */
  silentSince(deadline: number): Child[] {
    return [...this.#children.values()].filter((c) => c.lastHeard < deadline)
  }

  peers(): Peer[] {
    return [...this.#children.values()].map(({ id, addresses, joinOrder, priority }) => ({ id, addresses, joinOrder, priority }))
  }

  rosterPayload(): Uint8Array {
    return RosterCodec.encode(this.toWire())
  }

  toWire(): Roster {
    return {
      version: this.#version,
      members: this.peers().map((p) => ({
        id: endpointIdToBytes(p.id),
        inbound: p.addresses?.inbound ?? '',
        outbound: p.addresses?.outbound ?? '',
        joinOrder: p.joinOrder,
        priority: p.priority,
      })),
    }
  }
}

export function peersFromWire(roster: Roster): Peer[] {
  return roster.members.map((m) => ({
    id: endpointIdFromBytes(m.id),
    addresses: m.inbound && m.outbound ? { inbound: m.inbound, outbound: m.outbound } : undefined,
    joinOrder: m.joinOrder,
    priority: m.priority,
  }))
}
