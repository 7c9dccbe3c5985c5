import { endpointIdFromBytes, type EndpointId } from '../ids.js'
import { encodeMessage } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import type { Node } from './node.js'
import type { EndpointAddresses } from './options.js'
import type { Peer } from './roster.js'
import { writeSnapshot } from './snapshots.js'

/**
 * Host promotion (DESIGN.md, "Liveness and host promotion"). When a parent falls silent,
 * every surviving sibling computes the same succession order from the last roster: highest
 * priority first, then earliest join, among endpoints that bound addresses. Each walks the
 * order: joining the first candidate that answers, or — on reaching itself — taking the dead
 * parent's place: re-attaching to the nearest living ancestor, or becoming the root.
 */
export function successionOrder(roster: readonly Peer[], dead: EndpointId | ReadonlySet<EndpointId> | undefined): Peer[] {
  const isDead = (id: EndpointId) => (dead instanceof Set ? dead.has(id) : id === dead)
  const unique = new Map<EndpointId, Peer>()
  for (const p of roster) if (!unique.has(p.id)) unique.set(p.id, p)
  return [...unique.values()]
    .filter((p) => p.addresses !== undefined && !isDead(p.id))
    .sort((a, b) => b.priority - a.priority || a.joinOrder - b.joinOrder || (a.id < b.id ? -1 : 1))
}

export async function failover(node: Node): Promise<void> {
  if (node.failingOver || node.closed || !node.parent) return
  node.failingOver = true
  const link = node.parent
  const dead = link.parentId
  // The parent's chain starts with the parent itself; what follows are its ancestors.
  const above = link.ancestors.slice(1).map((a) => ({ id: a.id.byteLength === 16 ? endpointIdFromBytes(a.id) : undefined, addresses: { inbound: a.inbound, outbound: a.outbound } }))
  if (dead) node.deadParents.add(dead)
  // The latest roster first, then the one before the last failover (same join orders: a
  // successor keeps its survivors' places), minus every parent known to be dead.
  const order = successionOrder([...node.siblings, ...node.previousSiblings], node.deadParents)
  node.previousSiblings = order
  const attemptMs = node.opts.peerTimeoutMs
  node.logger.warn({ dead, order: order.map((p) => p.id) }, 'parent lost; starting failover')
  try {
    await node.detachParent()
    for (;;) {
      if (node.closed) return
      for (const candidate of order) {
        if (node.closed) return
        if (candidate.id === node.id) {
          await takeOver(node, above, order, attemptMs)
          return
        }
        if (await tryJoin(node, candidate.addresses!, attemptMs)) return
      }
      // No candidate answered and this endpoint cannot take over (it binds nothing): try the
      // ancestors directly, and the lost parent itself (it may be restarting), then again.
      for (const a of above) if (await tryJoin(node, a.addresses, attemptMs)) return
      if (await tryJoin(node, link.addresses, attemptMs)) return
      if (order.length === 0 && node.addresses) {
        await takeOver(node, above, order, attemptMs)
        return
      }
      await new Promise((r) => setTimeout(r, node.opts.heartbeatMs))
    }
  } finally {
    node.failingOver = false
  }
}

async function tryJoin(node: Node, addresses: EndpointAddresses, timeoutMs: number): Promise<boolean> {
  try {
    await node.join(addresses, timeoutMs)
    return true
  } catch (error) {
    node.logger.info({ inbound: addresses.inbound, reason: (error as Error).message }, 'failover candidate did not answer')
    return false
  }
}

/** Takes the dead parent's place: under its nearest living ancestor, or as the new root. */
async function takeOver(node: Node, above: Array<{ addresses: EndpointAddresses }>, order: Peer[], attemptMs: number): Promise<void> {
  // A dead relay's successor re-attaches above it. The root is most likely alive (only slow):
  // keep trying for a long while before concluding the whole chain above is gone, because
  // becoming a second root would split the tree.
  const deadline = Date.now() + attemptMs * 10
  while (above.length > 0 && !node.closed) {
    for (const ancestor of above) {
      if (await tryJoin(node, ancestor.addresses, attemptMs)) {
        node.logger.info({ parent: node.parent?.parentId }, "took the dead relay's place")
        return
      }
    }
    if (Date.now() > deadline) break
  }
  if (!node.closed) becomeRoot(node, order.map((p) => p.id))
}

/**
 * The new root raises the epoch and, for a recovery window, sequences nothing new: it waits
 * for the survivors to re-join and fetches any sequenced fragments they hold that it lacks.
 */
export function becomeRoot(node: Node, survivors: EndpointId[]): void {
  node.becomeRootNode()
  node.epoch += 1
  node.expectedSurvivors = new Set(survivors.filter((id) => id !== node.id))
  node.recoveringUntil = Date.now() + node.opts.peerTimeoutMs * 2
  for (const replica of node.replicas.values()) {
    if (!replica.ready) replica.seed({})
    replica.becomeSequencer()
    replica.sequencer!.pause()
  }
  node.logger.warn({ epoch: node.epoch, expecting: [...node.expectedSurvivors] }, 'promoted to root; recovering')
  node.updateRole()
  if (node.parentLost) {
    // Connected to the tree again, as its root.
    node.parentLost = false
    node.events.emit('parent-back')
  }
  maybeEndRecovery(node)
}

/** Ends recovery once every expected survivor is back, or the window has passed. */
export function maybeEndRecovery(node: Node): void {
  if (node.recoveringUntil === 0) return
  const everyoneBack = [...node.expectedSurvivors].every((id) => node.children.has(id))
  if ((!everyoneBack || node.pendingFetches.size > 0) && Date.now() < node.recoveringUntil) return
  node.pendingFetches.clear()
  node.recoveringUntil = 0
  node.logger.info({ epoch: node.epoch }, 'recovery done; sequencing')
  void resumeSequencing(node)
}

/** With storage, the successor persists from its promotion: a snapshot first, then appends. */
async function resumeSequencing(node: Node): Promise<void> {
  if (node.opts.storage) await Promise.all([...node.replicas.values()].map((r) => writeSnapshot(node, r)))
  for (const replica of node.replicas.values()) replica.sequencer?.resume()
  // Our own changes still pending from before the promotion are now sequenced here.
  for (const replica of node.replicas.values()) node.stats.resent += replica.resendPending(0)
  serveDeferredOpens(node)
}

/**
 * Opens that arrived while this endpoint was not settled (recovering as root, or in the
 * limbo of a failover, or re-syncing under a new parent) are answered once it is.
 */
export function serveDeferredOpens(node: Node): void {
  if (node.deferredOpens.size === 0 || !isSettled(node)) return
  const waiting = [...node.deferredOpens.values()]
  node.deferredOpens.clear()
  for (const serve of waiting) serve()
}

export function isSettled(node: Node): boolean {
  if (node.inLimbo || node.failingOver || isRecovering(node)) return false
  for (const r of node.replicas.values()) if (r.awaitingServe) return false
  return true
}

export function isRecovering(node: Node): boolean {
  return node.recoveringUntil !== 0
}

/** During recovery: ask a re-joined survivor for what it holds beyond our seq. */
export function fetchFromSurvivor(node: Node, child: EndpointId, heads: Array<{ doc: string; seq: number }>): void {
  for (const head of heads) {
    const replica = node.replicas.get(head.doc as never)
    if (!replica || head.seq <= replica.seq) continue
    node.logger.info({ child, doc: head.doc, theirs: head.seq, ours: replica.seq }, 'fetching fragments from a survivor')
    node.pendingFetches.add(`${child}/${replica.doc}`)
    node.sendTo(child, encodeMessage({ kind: Kind.CATCH_UP, origin: node.id, doc: replica.doc, seq: replica.seq, epoch: node.epoch }))
  }
}
