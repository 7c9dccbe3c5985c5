import type { Message } from '../../protocol/codec.js'
import { encodeMessage } from '../../protocol/codec.js'
import { Kind } from '../../protocol/kinds.js'
import { HelloCodec, WelcomeCodec } from '../../protocol/payloads.js'
import { endpointTopic } from '../../protocol/topics.js'
import type { PeerIdentity } from '../../transport.js'
import { adoptFromSurvivor } from '../adopt.js'
import type { NodeContext } from '../context.js'
import { helloAllowed } from '../edge-checks.js'
import { fetchFromSurvivor } from '../survivor-fetch.js'
import { answered, reasonOf } from './verdicts.js'

/**
 * A child's HELLO: the checks before it may join here (identity, loops, admission rate,
 * authentication), then its welcome and the roster; at a recovering root, a survivor's
 * documents are fetched or adopted.
 */
export async function onHello(node: NodeContext, m: Message, peer: PeerIdentity | undefined, admitted = false): Promise<void> {
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
