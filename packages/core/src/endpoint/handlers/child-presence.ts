import type { Replica } from '../../document/replica.js'
import type { DocId, EndpointId } from '../../ids.js'
import { decodeMessage, type Message } from '../../protocol/codec.js'
import { Kind } from '../../protocol/kinds.js'
import { BatchCodec } from '../../protocol/payloads.js'
import type { NodeContext, Work } from '../context.js'
import { frameAllowed, presenceAllowed } from '../edge-checks.js'
import { presenceValue, vouched } from '../forwarding.js'

// Presence from children: one change (PRESENCE) or a batch (PRESENCES), kept at the root and
// passed up by a relay; and the presence of an origin that left, cleared.

export function clearPresence(node: NodeContext, replica: Replica, origin: EndpointId): void {
  if (!replica.presence.has(origin)) return
  const bytes = replica.presenceMessage(origin, null)
  if (node.succession.isRoot) {
    replica.setPresence(origin, null)
    node.presenceOut.publish(replica.doc, origin, bytes)
  } else {
    node.presenceOut.forward(replica.doc, origin, bytes)
  }
}

export function onPresence(node: NodeContext, m: Message): void {
  const replica = node.replicas.get(m.doc as DocId)
  if (!replica) return void node.stats.dropped++
  if (!node.succession.isRoot) {
    // Passed up with the other presence changes of this document in its window, in one frame.
    node.watchOrigin(m.origin)
    return node.presenceOut.forward(replica.doc, m.origin, vouched(node, m))
  }
  replica.setPresence(m.origin, presenceValue(m))
  node.presenceOut.publish(replica.doc, m.origin, m.raw)
}

/**
 * A child's batch of presence changes (PRESENCES), in one frame. Each inside is checked as if it had
 * come alone from that child: a PRESENCE of this document, vouched for by the child, from the
 * child or one of its descendants, with a safe value when the child is its origin. A bad one
 * is counted and dropped; the others still count.
 */
export function onPresences(node: NodeContext, { message: m, from, peer }: Work): void {
  if (!node.replicas.get(m.doc as DocId)) return void node.stats.dropped++
  let envelopes: Uint8Array[]
  try {
    envelopes = BatchCodec.decode(m.payload).envelopes
  } catch {
    return void node.stats.dropped++
  }
  for (const bytes of envelopes) {
    let inner: Message
    try {
      inner = decodeMessage(bytes, Infinity)
    } catch {
      node.stats.dropped++
      continue
    }
    if (inner.kind !== Kind.PRESENCE || inner.doc !== m.doc || inner.sender !== m.sender) {
      node.stats.dropped++
      continue
    }
    const direct = from === 'child' && inner.sender === inner.origin
    if (from === 'child' && !frameAllowed(node, inner, peer)) continue
    if (presenceAllowed(node, inner, direct)) onPresence(node, inner)
  }
}
