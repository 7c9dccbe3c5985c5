import { endpointIdFromBytes, endpointIdToBytes, type DocId, type EndpointId } from '../ids.js'
import type { Roster } from '../protocol/payloads.js'
import type { EndpointAddresses } from './options.js'
import type { TokenBucket } from '../runtime/rate-limit.js'

/** One member of a level of the tree, as the parent publishes it. */
export interface Peer {
  id: EndpointId
  /** Undefined for a leaf that binds nothing (it can never be promoted). */
  addresses: EndpointAddresses | undefined
  joinOrder: number
  priority: number
}

export interface Child extends Peer {
  lastHeard: number
  docs: Set<DocId>
  /** Its rate limit, when the parent has one. */
  bucket?: TokenBucket
  /** When it was last told it is throttled (told at most once a second). */
  throttleNoticeAt: number
}

/** A parent's children: who they are, since when, and what they have open. */
export class Children {
  readonly #children = new Map<EndpointId, Child>()
  #joinCounter = 0
  version = 0

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
  upsert(id: EndpointId, addresses: EndpointAddresses | undefined, priority: number, now: number, previousOrder?: number): boolean {
    const existing = this.#children.get(id)
    if (existing) {
      existing.lastHeard = now
      return false
    }
    const joinOrder = previousOrder ?? ++this.#joinCounter
    this.#joinCounter = Math.max(this.#joinCounter, joinOrder)
    this.#children.set(id, { id, addresses, priority, joinOrder, lastHeard: now, docs: new Set(), throttleNoticeAt: 0 })
    this.version++
    return true
  }

  remove(id: EndpointId): Child | undefined {
    const child = this.#children.get(id)
    if (!child) return undefined
    this.#children.delete(id)
    this.version++
    return child
  }

  /** Children silent since before `deadline`. */
  silentSince(deadline: number): Child[] {
    return [...this.#children.values()].filter((c) => c.lastHeard < deadline)
  }

  peers(): Peer[] {
    return [...this.#children.values()].map(({ id, addresses, joinOrder, priority }) => ({ id, addresses, joinOrder, priority }))
  }

  toWire(): Roster {
    return {
      version: this.version,
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
