import { JoinRefusedError } from '../errors.js'
import { endpointIdFromBytes, type EndpointId } from '../ids.js'
import { sleep } from '../runtime/clock.js'
import type { Peer } from './roster.js'
import type { NodeContext } from './context.js'
import type { EndpointAddresses } from './options.js'
import type { ParentLink } from './parent-link.js'
import { adoptFromSurvivor } from './adopt.js'
import { fetchFromSurvivor } from './survivor-fetch.js'

/**
 * Host promotion (DESIGN.md, "Liveness and host promotion"). When a parent is dead, every
 * surviving sibling computes the same succession order from the last roster (see
 * `successionOrder`). Each walks the order: joining the first candidate that answers as
 * itself, or — on reaching itself — taking the dead parent's place: re-attaching to the
 * nearest living ancestor, or becoming the root. Only this procedure promotes, and it only
 * starts from a dead parent (`Succession.parentLost`).
 */
export async function failover(node: NodeContext, why: string): Promise<void> {
  const link = node.parent
  if (node.closed || !link || node.succession.state !== 'settled' || node.succession.isRoot) return
  const dead = link.parentId
  // The parent's chain starts with the parent itself; what follows are its ancestors.
  const shown = link.ancestors
    .slice(1)
    .filter((a) => a.id.byteLength === 16 && a.inbound && a.outbound)
    .map((a) => ({ id: endpointIdFromBytes(a.id), addresses: { inbound: a.inbound, outbound: a.outbound } }))
  // A parent that showed nothing above itself may have been re-attaching when it welcomed us:
  // what was above the parent lost before is then still the way up (never "nothing above").
  const above = shown.length > 0 ? shown : node.formerAncestors.filter((a) => a.id !== dead && a.id !== node.id)
  node.formerAncestors = above
  const order = node.succession.parentLost(dead)
  const attemptMs = node.opts.peerTimeoutMs
  node.logger.warn({ dead, why, order: order.map((p) => p.id) }, 'parent lost; starting failover')
  await node.detachParent()
  for (;;) {
    if (node.closed) return
    for (const candidate of order) {
      if (node.closed) return
      if (candidate.id === node.id) return takeOver(node, link, above, order, attemptMs)
      if ((await tryJoin(node, candidate.addresses!, attemptMs, candidate.id)) === true) return
    }
    // No candidate answered and this endpoint cannot take over (it binds nothing): try the
    // ancestors directly, and the lost parent itself (it may be restarting), then again.
    for (const a of above) if ((await tryJoin(node, a.addresses, attemptMs)) === true) return
    if ((await tryJoin(node, link.addresses, attemptMs)) === true) return
    if (order.length === 0 && node.addresses) return takeOver(node, link, above, order, attemptMs)
    await sleep(node.clock, node.opts.heartbeatMs)
  }
}

/** Joins there: true, or false (no answer, refused) — or 'below' when what answers there is our own descendant. */
async function tryJoin(node: NodeContext, addresses: EndpointAddresses, timeoutMs: number, expect?: EndpointId): Promise<boolean | 'below'> {
  try {
    await node.join(addresses, timeoutMs, expect)
    return true
  } catch (error) {
    node.logger.info({ inbound: addresses.inbound, reason: (error as Error).message }, 'failover candidate did not answer')
    return error instanceof JoinRefusedError && error.refusal === 'ERR_LOOP' ? 'below' : false
  }
}

/** Takes the dead parent's place: under its nearest living ancestor, or as the new root. */
async function takeOver(node: NodeContext, link: ParentLink, above: Array<{ id: EndpointId; addresses: EndpointAddresses }>, order: Peer[], attemptMs: number): Promise<void> {
  // A dead relay's successor re-attaches above it. The root is most likely alive (only slow):
  // keep trying for a long while before concluding the whole chain above is gone, because
  // becoming a second root would split the tree.
  const deadline = node.clock.now() + attemptMs * 10
  const ways = [...above]
  while (ways.length > 0 && !node.closed) {
    for (const ancestor of [...ways]) {
      // Whoever answers there now (the ancestor, or a process restarted at its address that
      // re-joined the tree): the welcome's chain and epoch are checked, so no loop, no stale tree.
      const joined = await tryJoin(node, ancestor.addresses, attemptMs)
      if (joined === true) {
        node.logger.info({ parent: node.parent?.parentId }, "took the dead relay's place")
        return
      }
      // What answers there is below us now: not a way up, whatever the deadline.
      if (joined === 'below') ways.splice(ways.indexOf(ancestor), 1)
    }
    if (node.clock.now() > deadline) break
    // A refusal comes back at once: never spin.
    await sleep(node.clock, node.opts.heartbeatMs)
  }
  if (node.closed) return
  // The tree may live on elsewhere: a root that knows where the dead parent and its ancestors
  // were keeps listening there, and re-joins a tree that outranks its own.
  node.hintNewerRoot(link.addresses)
  for (const a of above) node.hintNewerRoot(a.addresses)
  becomeRoot(node, order)
}

/**
 * The new root raises the epoch and, for a recovery window, sequences nothing new: it waits
 * for the survivors to re-join and fetches any sequenced fragments they hold that it lacks.
 * `required`: survivors it waits for past that window (a root that handed over, alive).
 * `blind`: it knows no survivor to wait for (see Coordination.lead): the whole window, then
 * the fetches started in it (up to two more peer timeouts). `stale`: children listed from an
 * earlier turn as root, removed now (see Coordination.lead) so that only a new hello counts.
 */
export function becomeRoot(node: NodeContext, order: readonly Peer[], issued?: number, required: readonly EndpointId[] = [], blind = false, stale: readonly EndpointId[] = []): void {
  const blank = node.replicas.promote()
  const now = node.clock.now()
  const until = now + node.opts.peerTimeoutMs * 2
  const epoch = node.succession.promoted(order, until, blank, 0, issued, required, blind ? { fetchesUntil: until + node.opts.peerTimeoutMs * 2 } : undefined)
  node.stats.promotions++
  node.logger.warn({ epoch, expecting: [...node.succession.expectedSurvivors], ...(blind ? { blind } : {}) }, 'promoted to root; recovering')
  for (const id of stale) node.removeChild(id, 'left')
  node.updateRole()
  node.parentBack()
  // Children that noticed the death first joined us before we promoted: what they hold beyond
  // our seq is fetched now, as from a survivor re-joining during recovery.
  for (const child of node.children.values()) {
    // Documents we never held (a shard moved here) come from their snapshots (see adopt.ts).
    adoptFromSurvivor(node, child.id, child.heads ?? [])
    fetchFromSurvivor(
      node,
      child.id,
      (child.heads ?? []).filter((h) => !node.succession.isAdopting(h.doc)),
    )
  }
  node.maybeEndRecovery()
}
