import type { DocId } from '../../ids.js'
import type { Message } from '../../protocol/codec.js'
import { Kind } from '../../protocol/kinds.js'
import type { FragmentBody } from '../../protocol/ops.js'
import type { Sequencer } from '../../document/sequencer.js'
import { branchAllowed, fragmentProblem, frameAllowed, presenceAllowed, refuseFragment } from '../edge-checks.js'
import { HeartbeatCodec } from '../../protocol/payloads.js'
import { CONTROL_TOPIC, endpointTopic } from '../../protocol/topics.js'
import type { Handler, NodeContext, Work } from '../context.js'
import { deliverApp, forwardUp } from '../forwarding.js'
import { onSurvivorAnswer } from '../survivor-fetch.js'
import { onBranch } from '../branch-up.js'
import type { Verdict } from '../options.js'
import { onAccessQuestion } from '../root-access.js'
import { onHello } from './child-hello.js'
import { onOpen } from './child-open.js'
import { clearPresence, onPresence, onPresences } from './child-presence.js'
import { allowed, answered, reasonOf } from './verdicts.js'

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

function onClose(node: NodeContext, m: Message): void {
  const replica = node.replicas.get(m.doc as DocId)
  node.children.get(m.sender)?.docs.delete(m.doc as DocId)
  if (m.origin === m.sender) node.identities.revokeDoc(m.sender, m.doc as DocId)
  if (!replica) return
  replica.children.delete(m.origin)
  clearPresence(node, replica, m.origin)
  node.replicas.drop(replica)
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
  const decoded: { body?: FragmentBody | undefined } = {}
  if (direct || node.succession.isRoot) {
    const problem = fragmentProblem(node, m, replica, direct, decoded)
    if (problem) return refuseFragment(node, m, problem)
  }
  if (!node.succession.isRoot) return forwardUp(node, m)
  const sequencer = replica.sequencer!
  const verdict = allowed(node, { endpoint: m.origin, doc, action: 'change' })
  if (typeof verdict !== 'boolean' && typeof verdict !== 'string') return Promise.resolve(verdict).then((v) => decide(sequencer, m, decoded.body, v))
  decide(sequencer, m, decoded.body, verdict)
}

/** The authorize verdict on a change: sequenced or refused. (No closure per fragment when it is known at once.) */
function decide(sequencer: Sequencer, m: Message, body: FragmentBody | undefined, verdict: Verdict): void {
  if (verdict === true) sequencer.accept(m, body)
  else sequencer.refuse(m, reasonOf(verdict, 'not allowed to change this document'))
}

function onCatchUp(node: NodeContext, m: Message): void {
  const replica = node.replicas.get(m.doc as DocId)
  if (!replica?.ready || !replica.children.has(m.origin)) return void node.stats.dropped++
  node.stats.served++
  node.publish(endpointTopic(m.origin), replica.catchUpMessage(m.seq))
}
