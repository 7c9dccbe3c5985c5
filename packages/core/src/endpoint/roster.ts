import { endpointIdFromBytes, endpointIdToBytes, type EndpointId } from '../ids.js'
import { encodeMessage } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import { RosterCodec, type Member, type Roster } from '../protocol/payloads.js'
import type { EndpointAddresses } from './options.js'

/** One member of a level of the tree, as the parent publishes it. */
export interface Peer {
  id: EndpointId
  /** Undefined for a leaf that binds nothing (it can never be promoted). */
  addresses: EndpointAddresses | undefined
  joinOrder: number
  priority: number
}

/**
 * A parent's roster: the children that can be promoted (they bind addresses), which is all the
 * succession order needs (`successionOrder` skips the others). A leaf that binds nothing — a
 * browser tab — never enters it, so a thousand tabs joining change nothing here and cost no
 * roster traffic at all.
 *
 * Every change bumps the version. What changed since the last publication goes out as one
 * delta, encoded once for everyone; a child that holds the delta's base applies it, any other
 * asks for the whole roster, which is encoded once per version and sent to that child alone.
 */
export class RosterLog {
  readonly #members = new Map<EndpointId, Peer>()
  #version = 0
  /** The version the last delta brought everyone to. */
  #published = 0
  readonly #added = new Map<EndpointId, Peer>()
  readonly #removed = new Set<EndpointId>()
  #full: { version: number; epoch: number; bytes: Uint8Array } | undefined

  get version(): number {
    return this.#version
  }

  get size(): number {
    return this.#members.size
  }

  members(): IterableIterator<Peer> {
    return this.#members.values()
  }

  /** A promotable child joined (or came back with other addresses). */
  add(peer: Peer): void {
    this.#members.set(peer.id, peer)
    this.#added.set(peer.id, peer)
    this.#version++
  }

  /** A child left; false if it was not in the roster (a leaf). */
  remove(id: EndpointId): boolean {
    if (!this.#members.delete(id)) return false
    this.#added.delete(id)
    this.#removed.add(id)
    this.#version++
    return true
  }

  /**
   * The changes since the last delta, as a ROSTER envelope (`seq` = the new version), or
   * undefined when nothing changed. A delta larger than the roster is sent as the roster.
   */
  takeDelta(origin: EndpointId, epoch: number): Uint8Array | undefined {
    if (this.#version === this.#published) return undefined
    const base = this.#published
    const whole = this.#added.size + this.#removed.size >= this.#members.size
    const roster: Roster = whole
      ? wholeRoster(this.#version, this.#members.values())
      : { version: this.#version, base, members: [...this.#added.values()].map(toMember), removed: [...this.#removed].map((id) => endpointIdToBytes(id)) }
    this.#published = this.#version
    this.#added.clear()
    this.#removed.clear()
    return encodeMessage({ kind: Kind.ROSTER, origin, epoch, seq: roster.version, payload: RosterCodec.encode(roster) })
  }

  /** The whole roster as a ROSTER envelope, encoded once per version and epoch. */
  whole(origin: EndpointId, epoch: number): Uint8Array {
    const cached = this.#full
    if (cached && cached.version === this.#version && cached.epoch === epoch) return cached.bytes
    const bytes = encodeMessage({ kind: Kind.ROSTER, origin, epoch, seq: this.#version, payload: RosterCodec.encode(wholeRoster(this.#version, this.#members.values())) })
    this.#full = { version: this.#version, epoch, bytes }
    return bytes
  }
}

function wholeRoster(version: number, members: Iterable<Peer>): Roster {
  return { version, base: 0, members: [...members].map(toMember), removed: [] }
}

function toMember(p: Peer): Member {
  return { id: endpointIdToBytes(p.id), inbound: p.addresses?.inbound ?? '', outbound: p.addresses?.outbound ?? '', joinOrder: p.joinOrder, priority: p.priority }
}

export function peersFromWire(members: readonly Member[]): Peer[] {
  return members.map((m) => ({
    id: endpointIdFromBytes(m.id),
    addresses: m.inbound && m.outbound ? { inbound: m.inbound, outbound: m.outbound } : undefined,
    joinOrder: m.joinOrder,
    priority: m.priority,
  }))
}

/**
 * A child's roster after a ROSTER from its parent: the whole roster it carries, or `held`
 * (the roster at version `heldVersion`) with the delta applied. Undefined when it is a delta
 * on another version than the one held: the child must ask for the whole roster.
 */
export function applyRoster(held: readonly Peer[], heldVersion: number, wire: Roster): Peer[] | undefined {
  const base = wire.base ?? 0
  if (base === 0) return peersFromWire(wire.members)
  if (base !== heldVersion) return undefined
  const removed = new Set((wire.removed ?? []).map((id) => endpointIdFromBytes(id)))
  const next = new Map<EndpointId, Peer>()
  for (const p of held) if (!removed.has(p.id)) next.set(p.id, p)
  for (const p of peersFromWire(wire.members)) next.set(p.id, p)
  return [...next.values()]
}
