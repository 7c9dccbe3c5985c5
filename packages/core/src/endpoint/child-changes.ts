import type { EndpointId } from '../ids.js'
import { CONTROL_TOPIC, endpointTopic } from '../protocol/topics.js'
import type { NodeContext } from './context.js'
import { clearPresence } from './handlers/child-presence.js'
import type { TreeMemory } from './tree-memory.js'

/**
 * What follows when this endpoint's children change: the roster (its delta to everyone, the
 * whole of it to one child), the role, the `peers` event and the tree record; and a child's
 * removal, which releases the documents it had open here.
 */
export class ChildChanges {
  constructor(readonly node: NodeContext & { readonly memory: TreeMemory }) {}

  #childrenQueued = false
  #memoryVersion = -1

  /**
   * The children changed. Once per tick however many joined or left in it (a burst of joins
   * must not cost one roster or one `peers` list per join): the roster's delta, if the
   * children that can be promoted changed (one frame, encoded once); the role; `peers`.
   */
  changed(): void {
    const node = this.node
    if (this.#childrenQueued) return
    this.#childrenQueued = true
    node.defer(() => {
      this.#childrenQueued = false
      if (node.closed) return
      const delta = node.children.roster.takeDelta(node.id, node.succession.epoch)
      if (delta) node.publish(CONTROL_TOPIC, delta)
      node.updateRole()
      if (node.events.listenerCount('peers') > 0) node.events.emit('peers', node.children.peers())
      if (node.children.version !== this.#memoryVersion) {
        this.#memoryVersion = node.children.version
        node.memory.changed()
      }
    })
  }

  /** The whole roster to one child (a join, or a child whose roster fell behind): encoded once per version. */
  sendRoster(child: EndpointId): void {
    const node = this.node
    node.publish(endpointTopic(child), node.children.roster.whole(node.id, node.succession.epoch))
  }

  remove(id: EndpointId, why: 'left' | 'silent'): void {
    const node = this.node
    const lostUntil = why === 'silent' ? node.clock.now() + node.opts.peerTimeoutMs * 20 : 0
    const child = node.children.remove(id, lostUntil)
    node.identities.childGone(id)
    if (!child) return
    node.logger.info({ child: id, why }, 'child removed')
    for (const doc of child.docs) {
      const replica = node.replicas.get(doc)
      if (!replica) continue
      replica.children.delete(id)
      clearPresence(node, replica, id)
      node.replicas.drop(replica)
    }
    this.changed()
  }
}
