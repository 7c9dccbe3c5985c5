import type { Node } from './node.js'

/**
 * What an endpoint started on storage it wrote before (a restart) does with what it remembers:
 * the tree it was in (its peers, its epoch, whether it was the root) and the documents it
 * stored. Each is a step of `Endpoint.start`.
 */

/**
 * A joiner with storage: the peers it knew (listened to if it ever becomes a root). Not its
 * epoch: a fresh process has no subtree to fence, and the tree it finds may be a branch at a
 * lower epoch than one that died since; it takes its parent's. Resolves to whether it was the
 * root when it stopped.
 */
export async function recallTree(node: Node): Promise<boolean> {
  const record = await node.memory.recall()
  if (record) node.fencing.remember(record.peers)
  return record?.root === true
}

/**
 * A joiner whose storage says it was the root when it stopped (a root killed and restarted
 * with its original `--join` command line): what it confirmed there, its own changes
 * included, may exist nowhere else. Each stored document is restored and reopened from its
 * seq; the parent answers with a catch-up when the histories agree, and otherwise with a
 * snapshot, whereupon the sequenced changes it lacks are passed up to be sequenced again
 * (see the SNAPSHOT handler). Without this, they stayed in a store nobody read.
 */
export async function rescueStoredDocuments(node: Node): Promise<void> {
  const storage = node.opts.storage
  if (!storage) return
  for (const doc of await storage.documents()) {
    if (node.replicas.get(doc)) continue
    const stored = await storage.load(doc)
    if (!stored || node.replicas.get(doc)) continue
    const replica = node.replicas.create(doc)
    replica.restore(stored)
    node.replicas.requestOpen(replica)
    node.logger.info({ doc, seq: replica.seq }, 'restarted after being the root: reopening a stored document to pass up what the tree lacks')
  }
}

/**
 * A root started with storage: if it remembers a tree (it was restarted), it first listens
 * where that tree was for one that outranks what it remembers, and re-joins it as a client.
 * Meanwhile it is in limbo: it sequences nothing, so nobody connecting to its address gets a
 * confirmation the real tree never sees. Nothing newer found: it resumes as the root at the
 * remembered epoch (never lower) — or, when it was not the root, keeps looking.
 */
export async function rejoinRememberedTree(node: Node): Promise<void> {
  const record = await node.memory.recall()
  if (!record) return
  // A root resumes at its epoch, never lower; anything else starts from its parent's.
  if (record.root) node.succession.restoreEpoch(record.epoch)
  if (record.peers.length === 0) return
  node.logger.info({ epoch: record.epoch, peers: record.peers.length }, 'restarted: looking for the tree this endpoint was in')
  node.succession.stepDown()
  node.fencing.remember(record.peers)
  const joined = await node.fencing.probe([...record.peers], record.root ? 'at-least-as-new' : 'any')
  if (joined || !node.succession.inLimbo) return node.updateRole()
  if (record.root) {
    node.succession.resumeAsRoot()
    node.logger.info({ epoch: node.succession.epoch }, 'no newer tree found; resuming as the root')
    return node.updateRole()
  }
  // It was not the root: its documents in storage are stale, and the tree lives on somewhere.
  // It keeps looking (every tick) and never serves as a root on its own.
  node.startSeeking()
  node.logger.warn({ epoch: node.succession.epoch, peers: record.peers.length }, 'restarted: the tree this endpoint was in is not reachable yet; looking for it, not serving as a root')
}
