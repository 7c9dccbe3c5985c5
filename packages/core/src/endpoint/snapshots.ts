import type { Replica } from '../document/replica.js'
import { encodeJson } from '../protocol/json.js'
import type { Node } from './node.js'

const writing = new WeakSet<Replica>()

/**
 * The root's snapshot policy: after `snapshotEvery` fragments, store the confirmed state and
 * compact the stored log behind it, so a restart replays at most that many fragments.
 */
export function maybeSnapshot(node: Node, replica: Replica): void {
  const storage = node.opts.storage
  if (!storage || !node.isRoot || writing.has(replica)) return
  if (replica.seq - replica.snapshotSeq < node.opts.snapshotEvery) return
  void writeSnapshot(node, replica)
}

export async function writeSnapshot(node: Node, replica: Replica): Promise<void> {
  const storage = node.opts.storage
  if (!storage || writing.has(replica)) return
  writing.add(replica)
  const seq = replica.seq
  try {
    await storage.writeSnapshot(replica.doc, { seq, state: encodeJson(replica.confirmed), clientSeqs: [...replica.clientSeqs] })
    replica.snapshotSeq = seq
    await storage.compact(replica.doc, seq)
  } catch (error) {
    node.logger.error({ err: error, doc: replica.doc, seq }, 'writing a snapshot failed; the log keeps growing until one succeeds')
  } finally {
    writing.delete(replica)
  }
}

