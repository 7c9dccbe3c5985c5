import type { DocId, EndpointId } from '../ids.js'
import { encodeMessage } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import type { NodeContext } from './context.js'

/** A document head as a child reports it in its HELLO. */
export interface DocHead {
  doc: string
  seq: number
}

/**
 * During recovery: asks a survivor for the sequenced fragments it holds beyond our seq. Called
 * for a survivor that re-joins while we recover, and at promotion for those already attached
 * (they noticed the death first and joined us before we did): each counts as a fetch in flight,
 * so recovery does not end before their answers are in.
 */
export function fetchFromSurvivor(node: NodeContext, child: EndpointId, heads: readonly DocHead[]): void {
  for (const head of heads) {
    const replica = node.replicas.get(head.doc as DocId)
    if (!replica || head.seq <= replica.seq) continue
    node.logger.info({ child, doc: head.doc, theirs: head.seq, ours: replica.seq }, 'fetching fragments from a survivor')
    node.succession.fetchStarted(`${child}/${replica.doc}`)
    node.sendTo(child, encodeMessage({ kind: Kind.CATCH_UP, origin: node.id, doc: replica.doc, seq: replica.seq, epoch: node.succession.epoch }))
  }
}
