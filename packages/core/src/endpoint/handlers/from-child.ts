import type { Replica } from '../../document/replica.js'
import { endpointIdFromBytes, type DocId, type EndpointId } from '../../ids.js'
import { decodeMessage, encodeMessage, type Message } from '../../protocol/codec.js'
import { decodeJson } from '../../protocol/json.js'
import { Kind } from '../../protocol/kinds.js'
import type { BadFrameError } from '../../errors.js'
import type { PeerIdentity } from '../../transport.js'
import {
  branchAllowed,
  fragmentProblem,
  frameAllowed,
  helloAllowed,
  openAtRootOrRefuse,
  openValueAllowed,
  presenceAllowed,
  refuseDoc,
  refuseFragment,
  relayRefusal,
  serveOpen,
} from '../edge-checks.js'
import { BatchCodec, HeartbeatCodec, HelloCodec, OpenCodec, SnapshotCodec, WelcomeCodec } from '../../protocol/payloads.js'
import { CONTROL_TOPIC, endpointTopic } from '../../protocol/topics.js'
import type { Handler, NodeContext, Work } from '../context.js'
import { deliverApp, forwardUp, presenceValue, vouched } from '../forwarding.js'
import { extendsOurHistory, fetchFromSurvivor, isTrustedSurvivor } from '../survivor-fetch.js'
import { adoptFromSurvivor } from '../adopt.js'
import { isLaterBranch, isTakingFrom, takeLaterBranch, tookLaterBranch } from '../later-branch.js'
import { whenReached } from '../opener-ahead.js'
import { onBranch } from '../branch-up.js'
import type { AccessRequest, Verdict } from '../options.js'
import { askRoot, onAccessQuestion } from '../root-access.js'
import type { Open } from '../../protocol/payloads.js'

/** What a child's rate limit counts: what fans out to everyone. Control traffic never. */
const THROTTLED: ReadonlySet<Kind> = new Set<Kind>([Kind.FRAGMENT, Kind.PRESENCE, Kind.PRESENCES, Kind.APP])

/**
 * Messages arriving on the inbound PULL, from children (or the root's own loop-back): the
 * kind → handler table, behind one gate that checks the sender is a child, its epoch, and
 * its rate limit.
 */
export const FROM_CHILD: Partial<Record<Kind, Handler>> = {
  [Kind.HEARTBEAT]: (node, { message: m }) => onHeartbeat(node, m),
  [Kind.LEAVE]: (node, { message: m }) => node.removeChild(m.sender, 'left'),
  [Kind.OPEN]: (node, { message: m, from }) => answered(node, m, 'ERR_BAD_REQUEST', (n, msg) => onOpen(n, msg, from)),
  [Kind.CLOSE]: (node, { message: m }) => onClose(node, m),
  [Kind.FRAGMENT]: (node, { message: m, from }) => onFragment(node, m, from),
  [Kind.CATCH_UP]: (node, { message: m }) => onCatchUp(node, m),
  [Kind.PRESENCE]: (node, { message: m, from }) => {
    if (!presenceAllowed(node, m, from === 'child' && m.sender === m.origin)) return
    return onPresence(node, m)
  },
  [Kind.PRESENCES]: (node, work) => onPresences(node, work),
  [Kind.ACCESS]: onAccessQuestion,
  [Kind.FRAGMENTS]: (node, { message: m }) => onSurvivorAnswer(node, m),
  [Kind.SNAPSHOT]: (node, { message: m }) => onSurvivorAnswer(node, m),
  [Kind.BRANCH]: (node, { message: m, peer }) => {
    if (branchAllowed(node, m, peer)) onBranch(node, m)
  },
  [Kind.APP]: (node, { message: m }) => {
    if (!node.succession.isRoot) return forwardUp(node, m)
    node.publish(CONTROL_TOPIC, m.raw)
    return deliverApp(node, m)
  },
}

export function handleFromChild(node: NodeContext, work: Work): void | Promise<void> {
  const m = work.message
  if (m.kind === Kind.HELLO) return answered(node, m, 'ERR_AUTH', (n, msg) => onHello(n, msg, work.peer))
  // The sender must be the child its connection joined as; the origin, it or its descendant.
  if (work.from === 'child' && !frameAllowed(node, m, work.peer)) return
  if (work.from === 'child' && !admit(node, m)) return
  const handler = FROM_CHILD[m.kind as Kind]
  if (!handler) return void node.stats.dropped++
  return handler(node, work)
}

/**
 * Runs a request handler so that the requester always gets an answer: when the handler fails
 * (a hook threw, the request was malformed), it gets a refusal saying why instead of silence.
 */
async function answered(node: NodeContext, m: Message, code: string, handler: (node: NodeContext, m: Message) => Promise<void>): Promise<void> {
  try {
    await handler(node, m)
  } catch (error) {
    node.stats.handlerErrors++
    node.logger.warn({ err: error, from: m.origin, kind: m.kind }, 'a request failed; refusing it')
    node.refuse(m.origin, code, `the request could not be handled: ${(error as Error).message}`, m.doc)
  }
}

/** The gate in front of every message a child sends (besides HELLO). */
function admit(node: NodeContext, m: Message): boolean {
  const child = node.children.get(m.sender)
  if (!child) {
    // A heartbeat from a stranger may be a root that outranks this one, telling it so; or a
    // child we timed out that still thinks it is ours (it only heartbeats once it stops
    // writing). Both are answered: a root that pushed to us does not hear our PUB, and a
    // former child must learn to join again, or it stays detached for good.
    if (m.kind === Kind.HEARTBEAT && node.succession.isRoot) hintFrom(node, m)
    // Not (or no longer) a child: it must say hello again before anything else counts.
    else {
      node.stats.dropped++
      node.refusal('not-joined')
    }
    if (m.kind !== Kind.LEAVE) node.refuse(m.sender, 'ERR_NOT_JOINED', 'this endpoint is not a child here; join again')
    return false
  }
  // Fencing: an epoch from the future is forged; at the root, a child still on an older epoch
  // must re-join first (a relay passes it on under its own epoch).
  const epoch = node.succession.epoch
  if (m.epoch > epoch) {
    node.stats.dropped++
    node.refusal('future-epoch')
    return false
  }
  if (m.epoch < epoch && node.succession.isRoot && m.kind !== Kind.LEAVE) {
    node.stats.dropped++
    node.refusal('stale-epoch')
    node.refuse(m.sender, 'ERR_NOT_JOINED', `epoch ${m.epoch} is over; this tree is at epoch ${epoch}, join again`)
    return false
  }
  if (THROTTLED.has(m.kind as Kind) && child.bucket && !child.bucket.take()) {
    node.stats.throttled++
    const now = node.clock.now()
    if (child.throttleNoticeAt < now - 1000) {
      child.throttleNoticeAt = now
      node.logger.warn({ child: child.id }, 'a child exceeds its rate limit; its messages are dropped until it slows down')
      node.refuse(m.sender, 'ERR_RATE_LIMITED', `more than ${node.opts.childRateLimit!.perSecond} messages a second; slow down (changes stay pending and are resent)`)
    }
    return false
  }
  return true
}

/** A child's heartbeat: alive (stamped already); a relay's also says how big its subtree is. */
function onHeartbeat(node: NodeContext, m: Message): void {
  if (m.payload.length === 0) return node.children.setSubtree(m.sender, 1)
  try {
    node.children.setSubtree(m.sender, HeartbeatCodec.decode(m.payload).subtree ?? 1)
  } catch {
    node.stats.badFrames++
  }
}

function hintFrom(node: NodeContext, m: Message): void {
  node.stats.dropped++
  // With a coordinator, only the service names roots: a claim is never a reason to step down,
  // and one at an epoch the service never issued is forged.
  if (node.coordination) return void (node.coordination.issued(m.epoch) || node.refusal('unissued-epoch'))
  try {
    const chain = HeartbeatCodec.decode(m.payload).ancestors
    const first = chain[0]
    if (first && first.inbound && first.outbound) return node.hintNewerRoot({ inbound: first.inbound, outbound: first.outbound })
  } catch {
    // malformed: counted below
  }
  node.refusal('not-joined')
}

async function onHello(node: NodeContext, m: Message, peer: PeerIdentity | undefined, admitted = false): Promise<void> {
  const hello = HelloCodec.decode(m.payload)
  const id = m.origin
  if (m.sender !== id) return void node.stats.dropped++
  const identity = helloAllowed(node, id, peer)
  if (identity === false) return
  if (node.seeking) {
    // Welcomed here, it would wait for documents this endpoint cannot serve until it finds its
    // tree (it may never): the joiner is told to go elsewhere (its next candidate).
    node.refusal('seeking')
    return node.refuse(id, 'ERR_UNAVAILABLE', 'this endpoint restarted and is still looking for the tree it was in; it serves nobody until then. Join another endpoint of the tree')
  }
  if (id === node.id || node.parent?.chainIds().includes(id)) {
    node.refusal('loop')
    return node.refuse(id, 'ERR_LOOP', 'joining here would make a loop: this endpoint is your own descendant')
  }
  const joining = node.parent && !node.parent.welcomed ? node.parent : undefined
  if (joining && hello.inbound && joining.addresses.inbound === hello.inbound && node.id < id) {
    // Two endpoints joining each other at once would each welcome the other before either
    // chain shows it: a loop. The smaller id refuses; the other welcomes it and goes on.
    node.refusal('loop')
    return node.refuse(id, 'ERR_LOOP', 'this endpoint is joining you right now; joining it would make a loop')
  }
  if (!admitted && !node.children.has(id) && !joinAdmitted(node, m, peer)) return
  const addresses = hello.inbound && hello.outbound ? { inbound: hello.inbound, outbound: hello.outbound } : undefined
  const existing = node.children.get(id)
  const incarnation = hello.incarnation ?? 0
  if (existing && incarnation !== 0 && existing.incarnation !== 0 && existing.incarnation !== incarnation) {
    // The same id from a new process: what the old one had open and showed is gone.
    node.refusal('restarted-child')
    node.logger.warn({ child: id }, 'a child restarted under its old id; dropping its old state')
    node.removeChild(id, 'left')
  }
  if ((!node.children.has(id) || identity === 'moved') && node.opts.authenticate) {
    const verdict = await node.opts.authenticate({ endpoint: id, token: hello.token, addresses })
    if (verdict !== true) {
      node.logger.warn({ child: id, reason: reasonOf(verdict, 'authentication failed') }, 'refused a join')
      node.refuse(id, 'ERR_AUTH', reasonOf(verdict, 'the token was not accepted; check the token the endpoint joins with'))
      // A refused peer keeps no claim on the id; its retried HELLOs hear only their refusals.
      return node.identities.refused(id)
    }
  }
  // A sibling from before a failover keeps its place in the succession order.
  const isNew = node.children.upsert(id, addresses, hello.priority, node.clock.now(), node.succession.previousOrder(id), incarnation)
  node.children.get(id)!.heads = hello.docs
  node.children.setPeerTimeout(id, hello.peerTimeoutMs ?? 0)
  node.identities.admitted(id)
  const payload = WelcomeCodec.encode({ ancestors: node.ancestorChain(), rosterVersion: node.children.version, peerTimeoutMs: node.opts.peerTimeoutMs })
  node.publish(endpointTopic(id), encodeMessage({ kind: Kind.WELCOME, origin: node.id, epoch: node.succession.epoch, payload }))
  // The whole roster, to this child alone: a new one needs it, and a known one saying hello
  // again may have missed a delta. Everyone else gets the join as a delta, if it is one that
  // can be promoted (a leaf joining changes no roster).
  node.sendRoster(id)
  if (isNew) {
    node.logger.info({ child: id }, 'child joined')
    node.childrenChanged()
  }
  if (node.succession.recovering) {
    adoptFromSurvivor(node, id, hello.docs)
    fetchFromSurvivor(
      node,
      id,
      hello.docs.filter((h) => !node.succession.isAdopting(h.doc)),
    )
    node.maybeEndRecovery()
  }
}

/**
 * A newcomer's turn (see JoinGate): now, later (its hello is answered when the rate allows;
 * it keeps saying hello meanwhile, which keeps its place), or never — it is told to try again.
 */
function joinAdmitted(node: NodeContext, m: Message, peer: PeerIdentity | undefined): boolean {
  const verdict = node.joins.offer(m.origin, () => void answered(node, m, 'ERR_AUTH', (n, msg) => onHello(n, msg, peer, true)))
  if (verdict.admit) return true
  if (!verdict.queued) {
    const waiting = node.joins.waiting
    node.refuse(
      m.origin,
      'ERR_BUSY',
      `${waiting} endpoints are waiting to join here; try again in ${Math.ceil(verdict.retryAfterMs / 1000)} s (a joining endpoint retries by itself)`,
      '',
      0,
      verdict.retryAfterMs,
    )
  }
  return false
}

/**
 * A survivor's answer to a recovering root: sequenced fragments the root lacked, or — when its
 * log no longer reaches back to the root's seq — its snapshot, which is newer than the root's.
 */
function onSurvivorAnswer(node: NodeContext, m: Message): void {
  const replica = node.replicas.get(m.doc as DocId)
  if (!replica || !node.succession.recovering || !isTrustedSurvivor(node, m.origin)) return void node.stats.dropped++
  const head = node.children.get(m.origin)?.heads?.find((h) => h.doc === replica.doc)
  if (m.kind === Kind.SNAPSHOT && isTakingFrom(node, replica.doc, m.origin)) {
    tookLaterBranch(node, replica, m.seq, SnapshotCodec.decode(m.payload))
  } else if (m.kind === Kind.SNAPSHOT) {
    if (m.seq > replica.seq) {
      node.logger.warn({ doc: replica.doc, theirs: m.seq, ours: replica.seq }, "a survivor's log is short; taking its snapshot")
      replica.expectSnapshot = true
      replica.applySnapshot(m.seq, SnapshotCodec.decode(m.payload))
    }
  } else if (extendsOurHistory(replica, m, head)) {
    replica.receiveSequenced(m)
  } else if (isLaterBranch(replica, m)) {
    // Answered by its snapshot: recovery waits for that (see later-branch.ts).
    takeLaterBranch(node, replica, m.origin, head)
  } else {
    node.stats.dropped++
    node.logger.warn(
      { doc: replica.doc, survivor: m.origin, ours: replica.seq },
      "a survivor's history is another branch than ours; not taking its fragments (it gets our snapshot and resends what we lack)",
    )
  }
  node.succession.fetchDone(`${m.origin}/${replica.doc}`)
  node.defer(() => node.maybeEndRecovery())
}

/** The authorize hook's verdict; synchronous when there is no hook (the hot path stays sync). */
function allowed(node: NodeContext, request: AccessRequest): Verdict | Promise<Verdict> {
  if (!node.opts.authorize || request.endpoint === node.id) return true
  return node.opts.authorize(request)
}

async function onOpen(node: NodeContext, m: Message, from: Work['from']): Promise<void> {
  const doc = m.doc as DocId
  const open = OpenCodec.decode(m.payload)
  // The initial value is checked where it enters the tree, and refused there by name.
  if (from === 'child' && !openValueAllowed(node, m, open)) return
  for (const action of ['open', 'read'] as const) {
    const verdict = await allowed(node, { endpoint: m.origin, doc, action })
    if (verdict !== true) return node.refuse(m.origin, 'ERR_ACCESS_DENIED', reasonOf(verdict, `not allowed to ${action} this document`), doc)
  }
  if (node.succession.isRoot || from !== 'child') return serveOpenOf(node, m, open)
  // A relay serves from its own copy only what the root's authorize allows (see root-access.ts).
  // The answer may take a round trip: the open goes on from it, and this document's lane is free meanwhile.
  askRoot(node, m.origin, doc, 'open', (decision) => {
    // The opener left while the root was asked: nothing to serve.
    if (node.closed || !node.children.has(m.sender)) return
    if (!decision.allowed) return node.refuse(m.origin, decision.code, decision.reason, doc)
    void answered(node, m, 'ERR_BAD_REQUEST', (n, msg) => serveOpenOf(n, msg, open))
  })
}

/** An open that passed every check: served now, or once this endpoint and the document are ready. */
async function serveOpenOf(node: NodeContext, m: Message, open: Open): Promise<void> {
  const doc = m.doc as DocId
  const child = node.children.get(m.sender)
  let replica = node.replicas.get(doc)
  if (!replica && node.succession.isRoot) {
    let initial: unknown = {}
    try {
      if (open.hasInitial) initial = decodeJson(open.initial, 'the initial value')
    } catch (error) {
      return refuseDoc(node, m.origin, doc, 'ERR_BAD_VALUE', `${(error as BadFrameError).reason ?? String(error)}; open it with a plain JSON value`)
    }
    // Never silence: a document that cannot be loaded answers ERR_STORAGE_CORRUPT, by name.
    replica = await openAtRootOrRefuse(node, m, isObject(initial) ? initial : {})
    if (!replica) return
  }
  if (!replica) {
    replica = node.replicas.create(doc)
    node.replicas.requestOpen(replica, { hasInitial: open.hasInitial, initial: open.initial })
  }
  replica.children.add(m.origin)
  child?.docs.add(doc)
  // Decided just now; decided again every accessCacheMs while it reads (revocation.ts).
  if (child && m.origin === m.sender && (!node.succession.isRoot || node.opts.authorize)) node.grants.served(m.origin, doc, node.clock.now())
  // Its connection may now hear the document (on a gated PUB nothing else gets through).
  node.identities.admitDoc(m.sender, doc)
  const r = replica
  // A refusal of this relay's own open reaches everyone waiting on it.
  const stopRelaying = r.ready ? undefined : relayRefusal(node, r, m.origin)
  let ahead = false
  const serve = () => {
    stopRelaying?.()
    if (node.closed) return
    if (!ahead && m.seq > r.seq) {
      // The opener is ahead of us: answer once we hold what it holds (see whenReached), and
      // then as any open, once settled.
      ahead = true
      return whenReached(node, r, m.seq, () => node.replicas.serveWhenReady(r, m.origin, node.isSettled(), serve))
    }
    const same = m.seq > 0 && !node.replicas.mustResync(r.doc, m.origin) && sameHistory(r, m.seq, open)
    serveOpen(node, m.origin, doc, () => (same ? r.catchUpMessage(m.seq, open.lastEpoch) : r.snapshotMessage()))
  }
  // A recovering root answers once it holds everything the survivors had; an endpoint in a
  // failover once it has found its place and caught up there. Opens wait per document.
  node.replicas.serveWhenReady(replica, m.origin, node.isSettled(), serve)
}

/**
 * Whether the opener's history agrees with ours at `seq`: the same fragment (origin and
 * clientSeq) there, when it told us which. Two roots of one epoch (a healed split) sequence
 * different fragments under the same epoch; only this tells their histories apart.
 */
function sameHistory(replica: Replica, seq: number, open: { lastOrigin?: Uint8Array; lastClientSeq?: number; lastHistory?: number }): boolean {
  // Both fingerprints known: they compare the whole history up to `seq`, not only its last fragment.
  const ours = replica.log.chainAt(seq)
  if (open.lastHistory && ours !== undefined) return open.lastHistory === ours
  if (!open.lastOrigin || open.lastOrigin.byteLength !== 16) return true
  const entry = replica.log.at(seq)
  // Our log no longer holds that seq (it was just replaced by a snapshot): we cannot tell.
  if (!entry) return false
  return endpointIdFromBytes(open.lastOrigin) === entry.origin && open.lastClientSeq === entry.clientSeq
}

function onClose(node: NodeContext, m: Message): void {
  const replica = node.replicas.get(m.doc as DocId)
  node.children.get(m.sender)?.docs.delete(m.doc as DocId)
  if (m.origin === m.sender) node.identities.revokeDoc(m.sender, m.doc as DocId)
  if (!replica) return
  replica.children.delete(m.origin)
  clearPresence(node, replica, m.origin)
  node.replicas.drop(replica)
}

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

function onFragment(node: NodeContext, m: Message, from: Work['from']): void | Promise<void> {
  const doc = m.doc as DocId
  const replica = node.replicas.get(doc)
  const direct = from === 'child' && m.sender === m.origin
  if (!replica || (direct && !node.children.get(m.sender)?.docs.has(doc))) {
    // Not sequenced. Its OPEN may merely have been lost: the child opens again and resends;
    // an endpoint that never opened the document gets nothing in.
    node.stats.dropped++
    return node.refuse(m.origin, 'ERR_NOT_OPEN', `document "${doc}" is not open here; open it before changing it`, doc, m.clientSeq)
  }
  if (m.seq !== 0) return void node.stats.dropped++
  // Values are checked once, where they enter the tree; the document's size at the root.
  if (direct || node.succession.isRoot) {
    const problem = fragmentProblem(node, m, replica, direct)
    if (problem) return refuseFragment(node, m, problem)
  }
  if (!node.succession.isRoot) return forwardUp(node, m)
  const sequencer = replica.sequencer!
  const decide = (verdict: Verdict) => {
    if (verdict === true) sequencer.accept(m)
    else sequencer.refuse(m, reasonOf(verdict, 'not allowed to change this document'))
  }
  const verdict = allowed(node, { endpoint: m.origin, doc, action: 'change' })
  if (typeof verdict !== 'boolean' && typeof verdict !== 'string') return Promise.resolve(verdict).then(decide)
  decide(verdict)
}

function onCatchUp(node: NodeContext, m: Message): void {
  const replica = node.replicas.get(m.doc as DocId)
  if (!replica?.ready || !replica.children.has(m.origin)) return void node.stats.dropped++
  node.stats.served++
  node.publish(endpointTopic(m.origin), replica.catchUpMessage(m.seq))
}

function onPresence(node: NodeContext, m: Message): void {
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
function onPresences(node: NodeContext, { message: m, from, peer }: Work): void {
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

export function reasonOf(verdict: Verdict, fallback: string): string {
  return typeof verdict === 'string' && verdict ? verdict : fallback
}

function isObject(v: unknown): v is object {
  return typeof v === 'object' && v !== null
}
