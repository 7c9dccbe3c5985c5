import type { TreeRecord } from '../storage.js'
import type { NodeContext } from './context.js'
import type { EndpointAddresses } from './options.js'

/** Peers remembered at most. */
const MAX_PEERS = 64

/**
 * What an endpoint with storage remembers of its tree (`Storage.saveTree`): the epoch, whether
 * it was the root, and the addresses of the endpoints around it. A root restarted with its
 * original command line reads it back, listens there for a tree that outranks its remembered
 * one, and re-joins it as a client instead of serving as a stale root. Saved when it changes,
 * at most once per tick.
 */
export class TreeMemory {
  #saved = ''
  #queued = false
  #writing: Promise<void> = Promise.resolve()

  constructor(readonly node: NodeContext) {}

  /** The record from storage, if there is storage and a record. */
  async recall(): Promise<TreeRecord | undefined> {
    const storage = this.node.opts.storage
    if (!storage) return undefined
    try {
      const record = await storage.loadTree()
      if (record) this.#saved = JSON.stringify(record)
      return record
    } catch (error) {
      this.node.logger.warn({ err: error }, 'reading the remembered tree failed; starting without it')
      return undefined
    }
  }

  /** The tree around this endpoint changed (a join, a roster, a promotion): save it soon. */
  changed(): void {
    if (!this.node.opts.storage || this.#queued || this.node.closed) return
    this.#queued = true
    this.node.defer(() => {
      this.#queued = false
      this.#save()
    })
  }

  /** Waits for the last save. */
  async flush(): Promise<void> {
    await this.#writing
  }

  #save(): void {
    const storage = this.node.opts.storage
    if (!storage || this.node.succession.inLimbo) return
    const record = this.#record()
    const json = JSON.stringify(record)
    if (json === this.#saved) return
    this.#saved = json
    this.#writing = this.#writing.then(() => storage.saveTree(record)).catch((error: unknown) => this.node.logger.warn({ err: error }, 'saving the tree record failed'))
  }

  #record(): TreeRecord {
    const node = this.node
    const self = node.addresses?.inbound
    const peers = new Map<string, EndpointAddresses>()
    const add = (a: EndpointAddresses | undefined) => {
      if (a && a.inbound && a.outbound && a.inbound !== self && peers.size < MAX_PEERS) peers.set(a.inbound, { inbound: a.inbound, outbound: a.outbound })
    }
    for (const a of node.parent?.ancestors ?? []) add(a)
    for (const p of node.succession.siblings) add(p.addresses)
    for (const c of node.children.roster.members()) add(c.addresses)
    return { epoch: node.succession.epoch, root: node.succession.isRoot, peers: [...peers.values()] }
  }
}
