import { encodeMessage } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import { HeartbeatCodec } from '../protocol/payloads.js'
import { CONTROL_TOPIC } from '../protocol/topics.js'
import { publishRoster, removeChild } from './child-handlers.js'
import { failover, maybeEndRecovery, serveDeferredOpens } from './failover.js'
import type { Node } from './node.js'
import { probeForNewerRoot } from './fencing.js'

/**
 * Everything periodic, every heartbeatMs: heartbeats both ways, liveness of children and
 * parent, failover, and the retries that make lossy links converge (opens, catch-ups,
 * pending changes).
 */
export function onHeartbeatTick(node: Node): void {
  if (node.closed) return
  const now = Date.now()
  const { peerTimeoutMs, resendMs } = node.opts
  if (node.outbound) {
    // A root publishes even without children, so a stale root probing its old roster hears the epoch.
    const heads = [...node.replicas.values()].filter((r) => r.ready).map((r) => ({ doc: r.doc, seq: r.seq }))
    const payload = HeartbeatCodec.encode({ heads, rosterVersion: node.children.version, ancestors: node.ancestorChain() })
    node.publish(CONTROL_TOPIC, encodeMessage({ kind: Kind.HEARTBEAT, origin: node.id, epoch: node.epoch, payload }))
    // The roster goes out on every change; repeating it now and then heals a lost one, so
    // every child computes the same succession order.
    if (node.children.size > 0 && ++node.ticks % 8 === 0) publishRoster(node)
    for (const child of node.children.silentSince(now - peerTimeoutMs)) removeChild(node, child.id, 'silent')
  }
  serveDeferredOpens(node)
  if (node.isRoot) {
    maybeEndRecovery(node)
    if (!node.failingOver) void probeForNewerRoot(node)
    return
  }
  const link = node.parent
  if (!link || node.failingOver) return
  if (link.welcomed) node.sendUp(encodeMessage({ kind: Kind.HEARTBEAT, origin: node.id, epoch: node.epoch }))
  else node.sendHello()
  if (now - link.lastHeard > peerTimeoutMs) {
    if (!node.parentLost) {
      node.parentLost = true
      node.logger.warn({ parent: link.parentId, silentMs: now - link.lastHeard }, 'the parent is silent; presumed lost')
      node.events.emit('parent-lost')
    }
    void failover(node)
    return
  }
  for (const replica of node.replicas.values()) {
    if (!replica.ready) {
      if (now - replica.openedAt > resendMs) node.requestOpen(replica)
      continue
    }
    if (replica.hasGap) replica.requestCatchUp(resendMs)
    node.stats.resent += replica.resendPending(resendMs)
  }
}
