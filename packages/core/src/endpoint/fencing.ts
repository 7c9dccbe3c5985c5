import { decodeMessage } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import { CONTROL_TOPIC } from '../protocol/topics.js'
import { HeartbeatCodec } from '../protocol/payloads.js'
import { endpointIdFromBytes } from '../ids.js'
import type { Node } from './node.js'

let probing = new WeakSet<Node>()

/**
 * A root that has lost all its children (a partition, a long pause) may have been replaced.
 * It listens on its last children's outbound channels for a heartbeat of a higher epoch; if
 * it hears one, it re-joins that endpoint as a client. What it sequenced alone is then
 * resent as its own pending changes (the new root may reject them), never merged silently.
 */
export async function probeForNewerRoot(node: Node): Promise<void> {
  if (probing.has(node) || node.closed || !node.isRoot) return
  const now = Date.now()
  if (now - node.lastProbeAt < node.opts.peerTimeoutMs * 2) return
  for (const [id, until] of node.lostChildren) if (until < now) node.lostChildren.delete(id)
  // Children lost to silence may have gone to a newer root; with no children left, all of the
  // last roster may have, and so may the siblings this root had before it was promoted.
  const targets =
    node.children.size === 0
      ? [...node.lastChildren, ...node.previousSiblings.filter((p) => p.id !== node.id)]
      : node.lastChildren.filter((p) => node.lostChildren.has(p.id))
  if (targets.length === 0) return
  node.lastProbeAt = now
  probing.add(node)
  try {
    for (const peer of targets) {
      if (!peer.addresses || node.closed || !node.isRoot) continue
      const heard = await listenForEpoch(node, peer.addresses.outbound, node.opts.heartbeatMs * 4)
      if (!heard || !outranks(heard, node)) continue
      const epoch = heard.epoch
      node.logger.warn({ epoch, ours: node.epoch, at: peer.addresses.inbound }, 'a newer root exists; re-joining as a client')
      try {
        await node.join(peer.addresses, node.opts.peerTimeoutMs * 2)
        node.lastChildren = []
        node.lostChildren.clear()
        node.updateRole()
        return
      } catch (error) {
        node.logger.warn({ err: error }, 're-joining the newer root failed; will probe again')
      }
    }
  } finally {
    probing.delete(node)
  }
}

/**
 * Whether a tree heard of outranks this root's: a higher epoch, or — two successors promoted
 * at once to the same epoch — the same epoch under a root with a smaller id. Exactly one of
 * two roots outranks the other, so a split heals by the loser joining the winner.
 */
function outranks(heard: { epoch: number; root: string }, node: Node): boolean {
  if (heard.root === node.id) return false
  return heard.epoch > node.epoch || (heard.epoch === node.epoch && heard.root < node.id)
}

async function listenForEpoch(node: Node, outbound: string, ms: number): Promise<{ epoch: number; root: string } | undefined> {
  const transport = node.opts.joinTransport ?? node.opts.transport
  let sub
  try {
    sub = await transport.sub(outbound, { maxMessageBytes: node.opts.maxMessageBytes })
  } catch {
    return undefined
  }
  sub.subscribe(CONTROL_TOPIC)
  const timer = setTimeout(() => void sub.close(), ms)
  try {
    for await (const frames of sub) {
      try {
        const m = decodeMessage(frames[1] ?? new Uint8Array(0), node.opts.maxMessageBytes)
        if (m.kind !== Kind.HEARTBEAT) continue
        // The chain ends with the root; a root's own chain is just itself.
        const chain = HeartbeatCodec.decode(m.payload).ancestors
        const last = chain[chain.length - 1]
        const root = last && last.id.byteLength === 16 ? endpointIdFromBytes(last.id) : m.origin
        return { epoch: m.epoch, root }
      } catch {
        // not a Zinc heartbeat; keep listening until the timer closes the channel
      }
    }
    return undefined
  } finally {
    clearTimeout(timer)
    await sub.close()
  }
}

export function resetProbing(): void {
  probing = new WeakSet<Node>()
}
