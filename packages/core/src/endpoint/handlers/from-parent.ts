import { RateLimitedError } from '../../errors.js'
import { sameBytes } from '../../runtime/bytes.js'
import type { DocId } from '../../ids.js'
import { decodeMessage, encodeMessage, type Message } from '../../protocol/codec.js'
import { refusalError } from '../edge-checks.js'
import { Kind } from '../../protocol/kinds.js'
import { BatchCodec, HeartbeatCodec, RefusalCodec, RosterCodec, SnapshotCodec, WelcomeCodec } from '../../protocol/payloads.js'
import { CONTROL_TOPIC, docTopic, endpointOfTopic, isEndpointTopic } from '../../protocol/topics.js'
import { applyRoster } from '../roster.js'
import type { Handler, NodeContext, Work } from '../context.js'
import { deliverApp, presenceValue } from '../forwarding.js'
import type { ParentLink } from '../parent-link.js'
import { orphansBeyond, passBranchUp } from '../branch-up.js'
import { onAccessAnswer } from '../root-access.js'

/** Kinds only the parent itself may send (others are relayed copies of the root's messages). */
const FROM_PARENT_ONLY: ReadonlySet<Kind> = new Set<Kind>([Kind.WELCOME, Kind.HEARTBEAT, Kind.ROSTER])

/** Heartbeats showing a newer roster than ours before we ask for it again. */
const ROSTER_MISSES = 3

/** Messages arriving on the SUB from the parent: the kind → handler table. */
export const FROM_PARENT: Partial<Record<Kind, Handler>> = {
  [Kind.WELCOME]: (node, { message: m, link }) => onWelcome(node, m, link!),
  [Kind.REFUSE]: (node, { message: m }) => onRefuse(node, m),
  [Kind.HEARTBEAT]: (node, { message: m, link }) => onHeartbeat(node, m, link!),
  [Kind.ROSTER]: (node, { message: m, link }) => onRoster(node, m, link!),
  [Kind.SNAPSHOT]: (node, { message: m }) => {
    const replica = node.replicas.get(m.doc as DocId)
    if (!replica) return void node.stats.dropped++
    replica.awaitingServe = false
    // A snapshot for a replica that was ready: our history was replaced, so what our children
    // hold (built on the old one) must be replaced too, before anything new reaches them.
    if (replica.ready && replica.children.size > 0) node.replicas.resyncChildren(replica, (child) => node.refuse(child, 'ERR_RESYNC', 'the history above changed; take a snapshot', replica.doc))
    const snapshot = SnapshotCodec.decode(m.payload)
    const orphans = replica.ready ? orphansBeyond(replica, snapshot, node.id) : []
    // What our history confirmed beyond the snapshot goes up first, to be merged (see branch-up.ts).
    if (replica.ready) passBranchUp(node, replica, snapshot)
    replica.applySnapshot(m.seq, snapshot, orphans)
    node.stats.resent += replica.served()
    // Sequenced changes of other endpoints that the new history lacks: their authors may be
    // gone (a tree that lost a merge), so pass them up once; the root dedupes by (origin,
    // clientSeq), so an author that resends too changes nothing.
    if (orphans.length > 0) {
      node.logger.warn({ doc: replica.doc, changes: orphans.length }, "the root lacks other endpoints' sequenced changes we hold; passing them up")
      // Like our own rescued changes, each is taken as made on the new history's head.
      for (const o of orphans)
        node.sendUp(
          encodeMessage({ kind: Kind.FRAGMENT, origin: o.origin, sender: node.id, doc: replica.doc, clientSeq: o.clientSeq, baseSeq: m.seq, epoch: node.succession.epoch, payload: o.payload }),
        )
    }
    node.replicas.serveWaiting()
  },
  [Kind.FRAGMENT]: (node, work) => onSequenced(node, work),
  [Kind.FRAGMENTS]: (node, work) => onSequenced(node, work),
  [Kind.ACK]: (node, { message: m }) => node.replicas.get(m.doc as DocId)?.acknowledged(m.clientSeq, m.seq),
  [Kind.REJECT]: (node, { message: m }) => {
    const refusal = RefusalCodec.decode(m.payload)
    return node.replicas.get(m.doc as DocId)?.rejected(m.clientSeq, refusal.reason, refusal.code, m.seq, m.baseSeq, refusal.answered ? refusal.answered - 1 : undefined)
  },
  [Kind.RESEND]: (node, { message: m }) => {
    const replica = node.replicas.get(m.doc as DocId)
    if (replica) node.stats.resent += replica.resendPending(0, m.clientSeq)
  },
  [Kind.PRESENCE]: (node, { message: m }) => {
    const replica = node.replicas.get(m.doc as DocId)
    if (!replica) return void node.stats.dropped++
    replica.setPresence(m.origin, presenceValue(m))
    node.publish(docTopic(replica.doc), m.raw)
  },
  [Kind.PRESENCES]: (node, { message: m }) => onPresences(node, m),
  // The root's authorize decision on a descendant's open, which this relay asked for.
  [Kind.ACCESS]: onAccessAnswer,
  [Kind.APP]: (node, { message: m }) => {
    node.publish(CONTROL_TOPIC, m.raw)
    return deliverApp(node, m)
  },
  [Kind.CATCH_UP]: (node, { message: m, link }) => {
    // A newly promoted root asks what we hold beyond its seq: fragments, or our snapshot when
    // our log does not reach back that far (a short log is not an empty answer).
    const replica = node.replicas.get(m.doc as DocId)
    if (!replica?.ready || m.origin !== link?.parentId) return void node.stats.dropped++
    node.sendUp(replica.catchUpMessage(m.seq))
  },
}

export function handleFromParent(node: NodeContext, work: Work): void | Promise<void> {
  const { message: m, topic, link } = work
  if (!link || link !== node.parent) return void node.stats.dropped++
  if (isEndpointTopic(topic) && endpointOfTopic(topic) !== node.id) {
    // A reply for a descendant: pass it down unchanged.
    node.publish(topic, m.raw)
    return
  }
  if (link.welcomed && FROM_PARENT_ONLY.has(m.kind as Kind) && m.sender !== link.parentId) {
    node.stats.dropped++
    node.refusal('forged-control')
    node.logger.warn({ sender: m.sender, kind: m.kind }, 'dropped a control message that did not come from the parent')
    return
  }
  const epoch = node.succession.epoch
  if (m.epoch < epoch) {
    node.refusal('stale-epoch')
    return void node.stats.dropped++
  }
  if (m.epoch > epoch && node.coordination && !node.coordination.issued(m.epoch)) {
    // A leadership claim at an epoch the coordinator never issued: forged or garbled.
    node.refusal('unissued-epoch')
    return void node.stats.dropped++
  }
  const handler = FROM_PARENT[m.kind as Kind]
  if (!handler) return void node.stats.dropped++
  return handler(node, work)
}

/** What the root may send itself about its own changes (an ACK of a duplicate, a REJECT, a RESEND). */
const OWN_ANSWERS: ReadonlySet<Kind> = new Set<Kind>([Kind.ACK, Kind.REJECT, Kind.RESEND])

/**
 * The root answering one of its own changes (a resend of one a previous root sequenced is a
 * duplicate here, answered with an ACK). It comes on no parent link, so handleFromParent would
 * drop it, and the change would stay pending at its own root for good.
 */
export function handleOwnAnswer(node: NodeContext, work: Work): void | Promise<void> {
  const m = work.message
  if (m.origin !== node.id || !OWN_ANSWERS.has(m.kind as Kind)) return void node.stats.dropped++
  return FROM_PARENT[m.kind as Kind]!(node, work)
}

function onWelcome(node: NodeContext, m: Message, link: ParentLink): void {
  if (link.welcomed && link.parentId === m.origin) return
  if (link.parentId !== undefined && link.parentId !== m.origin) {
    // Welcomed by another endpoint at our parent's address: our parent died and a new process
    // took its ports. That is not our parent: the parent is lost.
    node.refusal('stale-candidate')
    return node.startFailover(`another endpoint (${m.origin}) answers at the parent's address`)
  }
  if (m.epoch < node.succession.epoch) {
    // A tree older than the one we have seen (a stale root, restarted or woken): never join it.
    node.refusal('stale-epoch')
    return node.joinRefused(`that tree is at epoch ${m.epoch}, older than epoch ${node.succession.epoch} seen here`)
  }
  const welcome = WelcomeCodec.decode(m.payload)
  if (link.expected && m.origin !== link.expected) {
    // The candidate's address answered with another endpoint: the candidate is dead and a
    // new process took its ports. It is not who the succession order meant.
    node.refusal('stale-candidate')
    return node.joinRefused(`the endpoint at ${link.addresses.inbound} is ${m.origin}, not ${link.expected} (a restarted process)`)
  }
  link.parentId = m.origin
  link.peerTimeoutMs = welcome.peerTimeoutMs || undefined
  const bad = link.takeChain(welcome.ancestors, node.id)
  if (bad) {
    link.parentId = undefined
    node.refusal(bad)
    return node.joinRefused(bad === 'loop' ? 'joining there would make a loop: it is below this endpoint' : 'the welcome carried a malformed ancestor chain', bad === 'loop' ? 'ERR_LOOP' : '')
  }
  node.sawAncestors(link.ancestors)
  adoptEpoch(node, m)
  node.welcomed(m.origin)
}

function onHeartbeat(node: NodeContext, m: Message, link: ParentLink): void {
  if (!link.welcomed) return
  // An idle parent's heartbeats are the same bytes every time: the last one taken is not
  // decoded again, nor its chain checked again (most of an idle child's work).
  const known = link.lastBeat
  const same = known !== undefined && sameBytes(known.payload, m.payload)
  const hb = same ? known.heartbeat : HeartbeatCodec.decode(m.payload)
  let newRoot = false
  if (!same) {
    const rootBefore = link.rootId
    const bad = link.takeChain(hb.ancestors, node.id)
    if (bad === 'loop') return onLoop(node, link, hb.ancestors.length)
    link.loopSeen = 0
    if (bad) node.refusal(bad)
    link.lastBeat = bad ? undefined : { payload: m.payload, heartbeat: hb }
    if (!bad) node.sawAncestors(link.ancestors)
    newRoot = rootBefore !== undefined && link.rootId !== rootBefore
  }
  if (adoptEpoch(node, m) || newRoot) {
    // A new root above us (a higher epoch, or another root at ours after a split healed): its
    // history may differ from what we and our children hold. Reopen from our seq; the parent
    // compares histories and answers with a catch-up, or a snapshot when they differ.
    for (const r of node.replicas.values()) if (r.ready) node.replicas.requestOpen(r)
  }
  if (hb.rosterVersion !== node.succession.rosterVersion && ++link.rosterMisses >= ROSTER_MISSES) {
    // Our roster is not the parent's: ask for it (a hello from a known child gets the roster).
    link.rosterMisses = 0
    node.sendHello()
  } else if (hb.rosterVersion === node.succession.rosterVersion) link.rosterMisses = 0
  const now = node.clock.now()
  for (const head of hb.heads) {
    const r = node.replicas.get(head.doc as DocId)
    if (!r?.ready) continue
    r.noteHead(head.seq)
    if (head.seq <= r.seq) r.behindSince = 0
    // Still behind a heartbeat later: an idle gap (fragments we never saw), not an echo in flight.
    else if (r.behindSince === 0) r.behindSince = now
    else if (now - r.behindSince >= node.opts.heartbeatMs) r.requestCatchUp(node.opts.resendMs)
  }
}

/**
 * The parent's roster (the members of this level that can be promoted), whole or as a delta.
 * Its version rides in `seq`, so one already held is not decoded. A delta on a version this
 * endpoint does not hold (one was lost) cannot be applied: it asks for the whole roster, by
 * saying hello again, at most once a heartbeat.
 */
function onRoster(node: NodeContext, m: Message, link: ParentLink): void {
  const held = node.succession.rosterVersion
  if (m.seq !== 0 && m.seq < held) return void node.refusal('stale-roster')
  if (m.seq !== 0 && m.seq === held) return
  const next = applyRoster(node.succession.siblings, held, RosterCodec.decode(m.payload))
  if (!next) {
    const now = node.clock.now()
    if (now - link.rosterAskedAt < node.opts.heartbeatMs) return
    link.rosterAskedAt = now
    return node.sendHello()
  }
  node.succession.rosterFromParent(m.seq, next)
  if (node.children.size === 0) node.events.emit('peers', [...node.succession.siblings])
}

/**
 * The parent's chain contains this endpoint: the parents form a loop with no root above.
 * Every member sees the same loop; the one with the smallest id breaks it, by treating its
 * parent as dead. Seen twice in a row first, so a chain one heartbeat stale is not a loop.
 */
function onLoop(node: NodeContext, link: ParentLink, length: number): void {
  node.refusal('loop')
  if (++link.loopSeen < 2) return
  const members = [...link.chainIdsWith(node.id)]
  const breaker = members.sort()[0]
  node.logger.warn({ members, length, breaker }, 'the parent chain is a loop with no root')
  if (breaker === node.id) node.startFailover('the parent chain is a loop')
}

/** WELCOME and HEARTBEAT from the parent carry its epoch: a client follows its tree. */
function adoptEpoch(node: NodeContext, m: Message): boolean {
  return node.succession.adoptEpoch(m.epoch)
}

/** A tick's presence changes from above, in one frame: taken, then passed down as it came. */
function onPresences(node: NodeContext, m: Message): void {
  const replica = node.replicas.get(m.doc as DocId)
  if (!replica) return void node.stats.dropped++
  for (const bytes of BatchCodec.decode(m.payload).envelopes) {
    try {
      const inner = decodeMessage(bytes, Infinity)
      if (inner.kind !== Kind.PRESENCE || inner.doc !== replica.doc) throw new Error('not a presence of this document')
      replica.setPresence(inner.origin, presenceValue(inner))
    } catch {
      node.stats.dropped++
    }
  }
  node.publish(docTopic(replica.doc), m.raw)
}

function onSequenced(node: NodeContext, { message: m, topic }: Work): void {
  const replica = node.replicas.get(m.doc as DocId)
  if (!replica) return void node.stats.dropped++
  // A catch-up batch addressed to us answers our OPEN.
  const served = m.kind === Kind.FRAGMENTS && isEndpointTopic(topic)
  if (served) {
    replica.awaitingServe = false
    node.defer(() => node.replicas.serveWaiting())
  }
  replica.receiveSequenced(m)
  if (served) node.stats.resent += replica.served()
}

function onRefuse(node: NodeContext, m: Message): void {
  const refusal = RefusalCodec.decode(m.payload)
  const replica = m.doc ? node.replicas.get(m.doc as DocId) : undefined
  switch (refusal.code) {
    case 'ERR_NOT_JOINED': {
      const link = node.parent
      if (!link) return
      // Only our parent can forget us; from anyone else at its address it says the parent is gone.
      if (link.welcomed && m.sender !== link.parentId) return void node.refusal('stale-candidate')
      // The parent forgot us (it timed us out during a pause): join again, at most once a heartbeat.
      const now = node.clock.now()
      if (now - link.rehelloAt < node.opts.heartbeatMs) return
      link.rehelloAt = now
      node.logger.info({}, 'the parent no longer knows this endpoint; joining again')
      link.welcomed = false
      node.sendHello()
      return
    }
    case 'ERR_BUSY': {
      // The parent admits joins at a bounded rate and as many wait as it queues: say hello
      // again later, spread out so that a crowd told the same thing does not come back at once.
      const link = node.parent
      if (!link || link.welcomed) return
      const wait = Math.max(100, refusal.retryAfterMs ?? 1000) * (1 + Math.random() / 2)
      link.helloPausedUntil = node.clock.now() + wait
      link.busy = true
      node.logger.info({ retryInMs: Math.round(wait) }, 'the parent is busy admitting other joins; trying again later')
      return
    }
    case 'ERR_RATE_LIMITED':
      // Our changes stay pending and are resent; the application may want to slow down.
      node.events.emit('error', new RateLimitedError(refusal.reason))
      return
    case 'ERR_NOT_OPEN':
      // Our OPEN was lost, or is still being decided (a relay asks the root first), or the
      // parent changed: open again unless we just did; a refused change goes again once the
      // open is served (Replica.served), the others at their resend.
      if (replica && m.clientSeq > 0) replica.notOpen()
      if (replica && node.clock.now() - replica.openedAt > node.opts.heartbeatMs) node.replicas.requestOpen(replica)
      return
    case 'ERR_RESYNC':
      // Our parent's history was replaced: ours, built on the old one, must be replaced too
      // (at once: fragments of the new history are already on their way).
      if (replica?.ready) node.replicas.requestSnapshot(replica)
      return
    case 'ERR_UNAVAILABLE':
      // The document could not be loaded up there just now: the open is retried (and, should
      // the opener give up, its timeout error says why).
      node.logger.warn({ doc: m.doc, reason: refusal.reason }, 'opening a document failed for now; retrying')
      if (m.doc) node.replicas.unavailable(m.doc as DocId, refusal.reason)
      return
  }
  if (m.doc) {
    const error = refusalError(m.doc, refusal.code, refusal.reason)
    // The children this relay served the document to lose it too (those still waiting for it
    // hear the refusal through relayRefusal).
    if (replica?.ready) {
      for (const child of replica.children) {
        node.refuse(child, refusal.code, refusal.reason, replica.doc)
        node.identities.revokeDoc(child, replica.doc)
        node.children.get(child)?.docs.delete(replica.doc)
      }
    }
    node.replicas.refused(m.doc as DocId, error)
    node.events.emit('error', error)
    return
  }
  node.joinRefused(refusal.reason, refusal.code)
}
