import type { DocId, EndpointId } from '../ids.js'
import { encodeMessage } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import type { DocHead } from '../protocol/payloads.js'
import type { NodeContext } from './context.js'

/**
 * During recovery, at a root whose coordinator may hand it documents it never held (a shard
 * that moved to this host, `Coordinator.adoptsDocuments`): takes each such document a survivor
 * holds from that survivor's snapshot. Fragments alone would not do: they apply on the
 * document's first state, which only its old root and its openers knew. Each counts as a fetch
 * in flight, so recovery does not end (and nothing is sequenced) before the answer is in.
 * Without this, such a document is re-created empty and its openers resend their changes.
 */
export function adoptFromSurvivor(node: NodeContext, child: EndpointId, heads: readonly DocHead[]): void {
  if (!node.coordination?.adoptsDocuments || !node.succession.recovering) return
  for (const head of heads) {
    const doc = head.doc as DocId
    const known = node.replicas.get(doc)
    // Held at seq 0: opened here (as a relay, say) but never received from the old root, and
    // seeded blank at promotion; the survivor's snapshot is the document, not fragments on it.
    if (head.seq === 0 || (known && known.seq > 0 && !node.succession.isAdopting(doc))) continue
    if (node.succession.adopt(doc)) {
      const replica = known ?? node.replicas.create(doc)
      // Served (and sequenced) only once recovery ends, by then from the survivor's snapshot.
      if (!known) replica.seed({})
      replica.sequencer?.pause()
      node.logger.info({ child, doc, theirs: head.seq }, 'adopting a document from a survivor')
    }
    node.succession.fetchStarted(`${child}/${doc}`)
    // A seq beyond the survivor's head: it answers with its snapshot (see Replica.catchUpMessage).
    node.sendTo(child, encodeMessage({ kind: Kind.CATCH_UP, origin: node.id, doc, seq: head.seq + 1, epoch: node.succession.epoch }))
  }
}
