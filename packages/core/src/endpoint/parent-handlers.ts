import { AccessDeniedError, RateLimitedError } from '../errors.js'
import type { DocId } from '../ids.js'
import { encodeMessage, type Message } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import { BatchCodec, HeartbeatCodec, RefusalCodec, RosterCodec, SnapshotCodec, WelcomeCodec } from '../protocol/payloads.js'
import { CONTROL_TOPIC, docTopic, endpointOfTopic, isEndpointTopic } from '../protocol/topics.js'
import { deliverApp, presenceValue } from './forwarding.js'
import type { Node, Work } from './node.js'
import { peersFromWire } from './roster.js'

/** Kinds only the parent itself may send (others are relayed copies of the root's messages). */
const FROM_PARENT_ONLY = new Set<Kind>([Kind.WELCOME, Kind.HEARTBEAT, Kind.ROSTER])

/** Messages arriving on the SUB from the parent. */
export function handleFromParent(node: Node, { message: m, topic }: Work): void | Promise<void> {
  const link = node.parent
  if (isEndpointTopic(topic) && endpointOfTopic(topic) !== node.id) {
    // A reply for a descendant: pass it down unchanged.
    node.publish(topic, m.raw)
    return
  }
  if (link?.welcomed && FROM_PARENT_ONLY.has(m.kind) && m.sender !== link.parentId) {
    node.stats.dropped++
    node.logger.warn({ sender: m.sender, kind: m.kind }, 'dropped a control message that did not come from the parent')
    return
  }
  if (link) {
    link.lastHeard = Date.now()
    if (node.parentLost) {
      node.parentLost = false
      node.events.emit('parent-back')
    }
  }
  if (m.epoch < node.epoch) return void node.stats.dropped++
  if (m.epoch > node.epoch && (m.kind === Kind.WELCOME || m.kind === Kind.HEARTBEAT)) {
    node.epoch = m.epoch
    // A new root above us: its history may differ from what we and our children hold
    // (fragments lost with the old root). Reopen from our seq; the parent compares histories
    // and answers with a catch-up, or a snapshot when they differ.
    if (m.kind === Kind.HEARTBEAT) for (const r of node.replicas.values()) if (r.ready) node.requestOpen(r)
  }
  const replica = m.doc ? node.replicas.get(m.doc as DocId) : undefined
  switch (m.kind) {
    case Kind.WELCOME: {
      const welcome = WelcomeCodec.decode(m.payload)
      if (link) link.ancestors = welcome.ancestors
      return node.welcomed(m.origin)
    }
    case Kind.REFUSE:
      return onRefuse(node, m)
    case Kind.HEARTBEAT: {
      const hb = HeartbeatCodec.decode(m.payload)
      if (link) link.ancestors = hb.ancestors
      const now = Date.now()
      for (const head of hb.heads) {
        const r = node.replicas.get(head.doc as DocId)
        if (!r?.ready) continue
        if (head.seq <= r.seq) r.behindSince = 0
        // Still behind a heartbeat later: an idle gap (fragments we never saw), not an echo in flight.
        else if (r.behindSince === 0) r.behindSince = now
        else if (now - r.behindSince >= node.opts.heartbeatMs) r.requestCatchUp(node.opts.resendMs)
      }
      return
    }
    case Kind.ROSTER:
      if (m.seq !== 0 && m.seq === node.siblingsVersion) return
      node.siblingsVersion = m.seq
      node.siblings = peersFromWire(RosterCodec.decode(m.payload))
      if (node.children.size === 0) node.events.emit('peers', node.siblings)
      return
    case Kind.SNAPSHOT:
      if (!replica) return void node.stats.dropped++
      replica.awaitingServe = false
      return replica.applySnapshot(m.seq, SnapshotCodec.decode(m.payload))
    case Kind.FRAGMENT:
    case Kind.FRAGMENTS:
      if (!replica) return void node.stats.dropped++
      // A catch-up batch addressed to us answers our OPEN.
      if (m.kind === Kind.FRAGMENTS && isEndpointTopic(topic)) replica.awaitingServe = false
      return replica.receiveSequenced(m)
    case Kind.ACK:
      return replica?.acknowledged(m.clientSeq, m.seq)
    case Kind.REJECT: {
      const refusal = RefusalCodec.decode(m.payload)
      return replica?.rejected(m.clientSeq, refusal.reason, refusal.code, m.seq, m.baseSeq)
    }
    case Kind.RESEND:
      if (replica) node.stats.resent += replica.resendPending(0, m.clientSeq)
      return
    case Kind.PRESENCE:
      if (!replica) return void node.stats.dropped++
      replica.setPresence(m.origin, presenceValue(m))
      node.publish(docTopic(replica.doc), m.raw)
      return
    case Kind.APP:
      node.publish(CONTROL_TOPIC, m.raw)
      return deliverApp(node, m)
    case Kind.CATCH_UP:
      // A newly promoted root asks what we hold beyond its seq.
      if (!replica?.ready || m.origin !== link?.parentId) return void node.stats.dropped++
      node.sendUp(encodeMessage({ kind: Kind.FRAGMENTS, origin: node.id, doc: replica.doc, seq: replica.seq, epoch: node.epoch, payload: BatchCodec.encode({ envelopes: replica.log.since(m.seq) ?? [] }) }))
      return
    default:
      node.stats.dropped++
  }
}

function onRefuse(node: Node, m: Message): void {
  const refusal = RefusalCodec.decode(m.payload)
  if (refusal.code === 'ERR_NOT_JOINED') {
    // The parent forgot us (it restarted, or timed us out during a pause): join again.
    node.logger.info({}, 'the parent no longer knows this endpoint; joining again')
    if (node.parent) node.parent.welcomed = false
    node.sendHello()
    return
  }
  if (refusal.code === 'ERR_RATE_LIMITED') {
    // Our changes stay pending and are resent; the application may want to slow down.
    node.events.emit('error', new RateLimitedError(refusal.reason))
    return
  }
  if (refusal.code === 'ERR_NOT_OPEN') {
    // Our OPEN was lost (or the parent changed): open again; pending changes are resent.
    const replica = node.replicas.get(m.doc as DocId)
    if (replica && Date.now() - replica.openedAt > node.opts.heartbeatMs) node.requestOpen(replica)
    return
  }
  if (m.doc) {
    const replica = node.replicas.get(m.doc as DocId)
    const error = new AccessDeniedError(m.doc, 'open', refusal.reason)
    if (replica) {
      node.replicas.delete(replica.doc)
      node.parent?.unsubscribe(docTopic(replica.doc))
      replica.events.emit('refused', error)
    }
    node.events.emit('error', error)
    return
  }
  node.refused(refusal.reason)
}
