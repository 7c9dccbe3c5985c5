import { endpointIdFromBytes, type DocId, type EndpointId } from '../ids.js'
import { encodeMessage, type Message } from '../protocol/codec.js'
import { decodeJson } from '../protocol/json.js'
import { Kind } from '../protocol/kinds.js'
import type { BadFrameError } from '../errors.js'
import type { PeerIdentity } from '../transport.js'
import { fragmentProblem, frameAllowed, helloAllowed, openAtRootOrRefuse, openValueAllowed, presenceAllowed, refuseDoc, refuseFragment, relayRefusal, serveOpen } from './edge-checks.js'
import { HelloCodec, OpenCodec, RosterCodec, WelcomeCodec } from '../protocol/payloads.js'
import { TokenBucket } from '../runtime/rate-limit.js'
import { fetchFromSurvivor, isRecovering, isSettled, maybeEndRecovery } from './failover.js'
import { CONTROL_TOPIC, docTopic, endpointTopic } from '../protocol/topics.js'
import type { Replica } from '../document/replica.js'
import { deliverApp, forwardUp, presenceValue, refuse } from './forwarding.js'
import type { Node, Work } from './node.js'
import type { AccessRequest, Verdict } from './options.js'

/** What a child's rate limit counts: what fans out to everyone. Control traffic never. */
const THROTTLED: ReadonlySet<Kind> = new Set<Kind>([Kind.FRAGMENT, Kind.PRESENCE, Kind.APP])

/** Messages arriving on the inbound PULL, from children (or the root's own loop-back). */
export function handleFromChild(node: Node, { message: m, from, peer }: Work): void | Promise<void> {
  if (m.kind === Kind.HELLO) return onHello(node, m, peer)
  if (from === 'child') {
    // The sender must be the child its connection joined as; the origin, it or its descendant.
    if (!frameAllowed(node, m, peer)) return
    const child = node.children.get(m.sender)
    if (!child) {
      // Not (or no longer) a child: it must say hello again before anything else counts.
      node.stats.dropped++
      if (m.kind !== Kind.LEAVE) refuse(node, m.sender, Kind.REFUSE, 'ERR_NOT_JOINED', 'this endpoint is not a child here; join again')
      return
    }
    child.lastHeard = Date.now()
    // Fencing: an epoch from the future is forged; at the root, a child still on an older
    // epoch must re-join first (a relay passes it on under its own epoch).
    if (m.epoch > node.epoch || (m.epoch < node.epoch && node.isRoot && m.kind !== Kind.LEAVE)) {
      node.stats.dropped++
      if (m.epoch < node.epoch) refuse(node, m.sender, Kind.REFUSE, 'ERR_NOT_JOINED', `epoch ${m.epoch} is over; this tree is at epoch ${node.epoch}, join again`)
      return
    }
    if (THROTTLED.has(m.kind) && child.bucket && !child.bucket.take()) {
      node.stats.throttled++
      if (child.throttleNoticeAt < Date.now() - 1000) {
        child.throttleNoticeAt = Date.now()
        node.logger.warn({ child: child.id }, 'a child exceeds its rate limit; its messages are dropped until it slows down')
        refuse(node, m.sender, Kind.REFUSE, 'ERR_RATE_LIMITED', `more than ${node.opts.childRateLimit!.perSecond} messages a second; slow down (changes stay pending and are resent)`)
      }
      return
    }
  }
  switch (m.kind) {
    case Kind.HEARTBEAT:
      return
    case Kind.LEAVE:
      return removeChild(node, m.sender, 'left')
    case Kind.OPEN:
      return onOpen(node, m, from)
    case Kind.CLOSE:
      return onClose(node, m)
    case Kind.FRAGMENT:
      return onFragment(node, m, from)
    case Kind.CATCH_UP:
      return onCatchUp(node, m)
    case Kind.PRESENCE:
      if (!presenceAllowed(node, m, from === 'child' && m.sender === m.origin)) return
      return onPresence(node, m)
    case Kind.FRAGMENTS:
      return onSurvivorFragments(node, m)
    case Kind.APP:
      if (!node.isRoot) return forwardUp(node, m)
      node.publish(CONTROL_TOPIC, m.raw)
      return deliverApp(node, m)
    default:
      node.stats.dropped++
  }
}

async function onHello(node: Node, m: Message, peer: PeerIdentity | undefined): Promise<void> {
  const hello = HelloCodec.decode(m.payload)
  const id = m.origin
  if (m.sender !== id) return void node.stats.dropped++
  if (!helloAllowed(node, id, peer)) return
  if (id === node.id || node.parent?.ancestors.some((a) => a.id.byteLength === 16 && endpointIdFromBytes(a.id) === id)) {
    return refuse(node, id, Kind.REFUSE, 'ERR_LOOP', 'joining here would make a loop: this endpoint is your own descendant')
  }
  if (!node.children.has(id) && node.opts.authenticate) {
    const addresses = hello.inbound && hello.outbound ? { inbound: hello.inbound, outbound: hello.outbound } : undefined
    const verdict = await node.opts.authenticate({ endpoint: id, token: hello.token, addresses })
    if (verdict !== true) {
      node.logger.warn({ child: id, reason: reasonOf(verdict, 'authentication failed') }, 'refused a join')
      refuse(node, id, Kind.REFUSE, 'ERR_AUTH', reasonOf(verdict, 'the token was not accepted; check the token the endpoint joins with'))
      // Until it passes, its connection hears nothing but its own refusals.
      return node.identities.childGone(id)
    }
  }
  const addresses = hello.inbound && hello.outbound ? { inbound: hello.inbound, outbound: hello.outbound } : undefined
  // A sibling from before a failover keeps its place in the succession order.
  const previousOrder = node.siblings.find((p) => p.id === id)?.joinOrder
  const isNew = node.children.upsert(id, addresses, hello.priority, Date.now(), previousOrder)
  const child = node.children.get(id)!
  node.identities.admitted(id)
  if (isNew && node.opts.childRateLimit) child.bucket = new TokenBucket(node.opts.childRateLimit)
  const payload = WelcomeCodec.encode({ ancestors: node.ancestorChain(), rosterVersion: node.children.version })
  node.publish(endpointTopic(id), encodeMessage({ kind: Kind.WELCOME, origin: node.id, epoch: node.epoch, payload }))
  if (isNew) {
    node.logger.info({ child: id }, 'child joined')
    rosterChanged(node)
  }
  if (isRecovering(node)) {
    fetchFromSurvivor(node, id, hello.docs)
    maybeEndRecovery(node)
  }
}

/** A survivor's answer to a recovering root: sequenced fragments the root lacked. */
function onSurvivorFragments(node: Node, m: Message): void {
  const replica = node.replicas.get(m.doc as DocId)
  if (!replica || !node.isRoot || !isRecovering(node)) return void node.stats.dropped++
  replica.receiveSequenced(m)
  node.pendingFetches.delete(`${m.origin}/${replica.doc}`)
  node.defer(() => maybeEndRecovery(node))
}

export function rosterChanged(node: Node): void {
  // Remember everyone seen recently: a root that loses them probes them for a newer epoch.
  const known = new Map(node.lastChildren.map((p) => [p.id, p]))
  for (const p of node.children.peers()) known.set(p.id, p)
  node.lastChildren = [...known.values()].slice(-64)
  publishRoster(node)
  node.updateRole()
  node.events.emit('peers', node.children.peers())
}

/**
 * Publishes the roster once per tick however many children joined in it (a burst of joins
 * must not cost one full roster per join). Its version rides in `seq`, so a child whose
 * roster is current skips decoding it.
 */
export function publishRoster(node: Node): void {
  if (node.rosterQueued) return
  node.rosterQueued = true
  node.defer(() => {
    node.rosterQueued = false
    const payload = RosterCodec.encode(node.children.toWire())
    node.publish(CONTROL_TOPIC, encodeMessage({ kind: Kind.ROSTER, origin: node.id, epoch: node.epoch, seq: node.children.version, payload }))
  })
}

export function removeChild(node: Node, id: EndpointId, why: string): void {
  const child = node.children.remove(id)
  node.identities.childGone(id)
  if (!child) return
  node.logger.info({ child: id, why }, 'child removed')
  if (why === 'silent') node.lostChildren.set(id, Date.now() + node.opts.peerTimeoutMs * 20)
  for (const doc of child.docs) {
    const replica = node.replicas.get(doc)
    if (!replica) continue
    replica.children.delete(id)
    clearPresence(node, replica, id)
    node.releaseReplica(replica)
  }
  rosterChanged(node)
}

function clearPresence(node: Node, replica: Replica, origin: EndpointId): void {
  if (!replica.presence.has(origin)) return
  const bytes = replica.presenceMessage(origin, null)
  if (node.isRoot) {
    replica.setPresence(origin, null)
    node.publish(docTopic(replica.doc), bytes)
  } else {
    node.sendUp(bytes)
  }
}

/** The authorize hook's verdict; synchronous when there is no hook (the hot path stays sync). */
function allowed(node: Node, request: AccessRequest): Verdict | Promise<Verdict> {
  if (!node.opts.authorize || request.endpoint === node.id) return true
  return node.opts.authorize(request)
}

async function onOpen(node: Node, m: Message, from: Work['from']): Promise<void> {
  const doc = m.doc as DocId
  const child = node.children.get(m.sender)
  const open = OpenCodec.decode(m.payload)
  // The initial value is checked where it enters the tree, and refused there by name.
  if (from === 'child' && !openValueAllowed(node, m, open)) return
  for (const action of ['open', 'read'] as const) {
    const verdict = await allowed(node, { endpoint: m.origin, doc, action })
    if (verdict !== true) {
      return refuseDoc(node, m.origin, doc, 'ERR_ACCESS_DENIED', reasonOf(verdict, `not allowed to ${action} this document`))
    }
  }
  let replica = node.replicas.get(doc)
  if (!replica && node.isRoot) {
    let initial: unknown = {}
    try {
      if (open.hasInitial) initial = decodeJson(open.initial, 'the initial value')
    } catch (error) {
      return refuseDoc(node, m.origin, doc, 'ERR_BAD_VALUE', `${(error as BadFrameError).reason ?? String(error)}; open it with a plain JSON value`)
    }
    replica = await openAtRootOrRefuse(node, m, isObject(initial) ? initial : {})
    if (!replica) return
  }
  if (!replica) {
    replica = node.createReplica(doc)
    node.requestOpen(replica, { hasInitial: open.hasInitial, initial: open.initial })
  }
  replica.children.add(m.origin)
  child?.docs.add(doc)
  // Its connection may now hear the document (on a gated PUB nothing else gets through).
  node.identities.admitDoc(m.sender, doc)
  const r = replica
  // A refusal of this relay's own open reaches everyone waiting on it.
  const stopRelaying = r.ready ? undefined : relayRefusal(node, r, m.origin)
  const serve = () => {
    stopRelaying?.()
    serveOpen(node, m.origin, doc, () => (m.seq > 0 ? r.catchUpMessage(m.seq, open.lastEpoch) : r.snapshotMessage()))
  }
  // A recovering root answers once it holds everything the survivors had; an endpoint in a
  // failover once it has found its place and caught up there.
  if (!isSettled(node)) node.deferredOpens.set(`${m.origin}/${doc}`, serve)
  else if (replica.ready) serve()
  else replica.events.once('ready', serve)
}

function onClose(node: Node, m: Message): void {
  const replica = node.replicas.get(m.doc as DocId)
  node.children.get(m.sender)?.docs.delete(m.doc as DocId)
  if (m.origin === m.sender) node.identities.revokeDoc(m.sender, m.doc as DocId)
  if (!replica) return
  replica.children.delete(m.origin)
  clearPresence(node, replica, m.origin)
  node.releaseReplica(replica)
}

function onFragment(node: Node, m: Message, from: Work['from']): void | Promise<void> {
  const doc = m.doc as DocId
  const replica = node.replicas.get(doc)
  const direct = from === 'child' && m.sender === m.origin
  if (!replica || (direct && !node.children.get(m.sender)?.docs.has(doc))) {
    // Not sequenced. Its OPEN may merely have been lost: the child opens again and resends;
    // an endpoint that never opened the document gets nothing in.
    node.stats.dropped++
    return refuse(node, m.origin, Kind.REFUSE, 'ERR_NOT_OPEN', `document "${doc}" is not open here; open it before changing it`, doc, m.clientSeq)
  }
  if (m.seq !== 0) return void node.stats.dropped++
  // Values are checked once, where they enter the tree: at the parent of their origin.
  if (direct || node.isRoot) {
    const problem = fragmentProblem(node, m, replica, direct)
    if (problem) return refuseFragment(node, m, problem)
  }
  if (!node.isRoot) return forwardUp(node, m)
  const sequencer = replica.sequencer!
  const decide = (verdict: Verdict) => {
    if (verdict === true) sequencer.accept(m)
    else sequencer.refuse(m, reasonOf(verdict, 'not allowed to change this document'))
  }
  const verdict = allowed(node, { endpoint: m.origin, doc, action: 'change' })
  if (typeof verdict !== 'boolean' && typeof verdict !== 'string') return Promise.resolve(verdict).then(decide)
  decide(verdict)
}

function onCatchUp(node: Node, m: Message): void {
  const replica = node.replicas.get(m.doc as DocId)
  if (!replica?.ready || !replica.children.has(m.origin)) return void node.stats.dropped++
  node.stats.served++
  node.publish(endpointTopic(m.origin), replica.catchUpMessage(m.seq))
}

function onPresence(node: Node, m: Message): void {
  const replica = node.replicas.get(m.doc as DocId)
  if (!replica) return void node.stats.dropped++
  if (!node.isRoot) return forwardUp(node, m)
  replica.setPresence(m.origin, presenceValue(m))
  node.publish(docTopic(replica.doc), m.raw)
}

function reasonOf(verdict: Verdict, fallback: string): string {
  return typeof verdict === 'string' && verdict ? verdict : fallback
}

function isObject(v: unknown): v is object {
  return typeof v === 'object' && v !== null
}

