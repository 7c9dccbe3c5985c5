import type { DocId, EndpointId } from '../ids.js'
import type { NodeContext } from './context.js'
import { clearPresence } from './handlers/child-presence.js'
import { askRoot, decideAtRoot } from './root-access.js'

/** The shortest time between two checks of one reader. */
const MIN_RECHECK_MS = 1000

/** Every tick: the readers whose access is due are decided again (see `Grants`, grants.ts). */
export function recheckReaders(node: NodeContext): void {
  // A root without a hook allows everything; nothing to take back.
  if (node.succession.isRoot && !node.opts.authorize) return node.grants.clear()
  if (node.grants.size === 0) return
  const now = node.clock.now()
  // At the pace the root sets: its accessCacheMs, as its answers say (our own option until one came).
  const every = node.succession.isRoot ? node.opts.accessCacheMs : (node.access.rootTtlMs ?? node.opts.accessCacheMs)
  for (const { child, doc } of node.grants.due(now, Math.max(every, MIN_RECHECK_MS))) {
    const replica = node.replicas.get(doc)
    // Closed, left, or not served from here any more: forgotten.
    if (!replica?.children.has(child) || !node.children.has(child)) {
      node.grants.forget(child, doc)
      continue
    }
    const revokeIf = (denied: boolean, reason: string) => {
      if (denied && replica.children.has(child)) revoke(node, child, doc, reason)
    }
    if (node.succession.isRoot) void decideAtRoot(node, child, doc).then((a) => revokeIf(!a.allowed && a.code === 'ERR_ACCESS_DENIED', a.reason))
    else askRoot(node, child, doc, 'recheck', (d) => revokeIf(!d.allowed && d.code === 'ERR_ACCESS_DENIED', d.allowed ? '' : d.reason))
  }
}

/** Takes `doc` from `child`: told why, off the readers, and (gated) off the topic. */
function revoke(node: NodeContext, child: EndpointId, doc: DocId, reason: string): void {
  const replica = node.replicas.get(doc)
  node.grants.forget(child, doc)
  node.logger.info({ child, doc, reason }, "a reader's access was revoked; it no longer gets the document")
  node.refuse(child, 'ERR_ACCESS_DENIED', reason, doc)
  node.identities.revokeDoc(child, doc)
  node.children.get(child)?.docs.delete(doc)
  if (!replica) return
  replica.children.delete(child)
  clearPresence(node, replica, child)
  node.replicas.drop(replica)
}
