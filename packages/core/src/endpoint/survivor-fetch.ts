import { nextHistory } from '../document/history-chain.js'
import type { Replica } from '../document/replica.js'
import type { DocId, EndpointId } from '../ids.js'
import { decodeMessage, encodeMessage, type Message } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import { BatchCodec, SnapshotCodec, type DocHead } from '../protocol/payloads.js'
import type { NodeContext } from './context.js'
import { isLaterBranch, isLaterBranchHead, isTakingFrom, takeLaterBranch, tookLaterBranch } from './later-branch.js'

/**
 * During recovery: asks a survivor for the sequenced fragments it holds beyond our seq. Called
 * for a survivor that re-joins while we recover, and at promotion for those already attached
 * (they noticed the death first and joined us before we did): each counts as a fetch in flight,
 * so recovery does not end before their answers are in.
 */
export function fetchFromSurvivor(node: NodeContext, child: EndpointId, heads: readonly DocHead[]): void {
  if (!isTrustedSurvivor(node, child)) return
  for (const head of heads) {
    const replica = node.replicas.get(head.doc as DocId)
    if (!replica) continue
    // Not ahead of us, yet a later root's branch (seq numbers alone say nothing across branches).
    if (head.seq <= replica.seq && isLaterBranchHead(replica, head)) {
      takeLaterBranch(node, replica, child, head)
      continue
    }
    const key = `${child}/${replica.doc}`
    // Not ahead of us: nothing to fetch — unless we asked already and wait on its answer. Then we
    // ask again, though it is no longer ahead (others brought us to its seq meanwhile): only its
    // answer ends that wait. Skipped, a first request lost on its way (sent as the survivor was
    // still being welcomed) held a handed-over shard's recovery for good (sharded chaos seed 137).
    if (head.seq <= replica.seq && !node.succession.isFetching(key)) continue
    node.logger.info({ child, doc: head.doc, theirs: head.seq, ours: replica.seq }, 'fetching fragments from a survivor')
    node.succession.fetchStarted(key)
    node.sendTo(child, encodeMessage({ kind: Kind.CATCH_UP, origin: node.id, doc: replica.doc, seq: replica.seq, epoch: node.succession.epoch }))
  }
}

/**
 * Whether a survivor's answer (FRAGMENTS after our seq) extends *our* history. The survivor's
 * HELLO gave its fingerprint at its head; folding the answer's fragments onto ours must give
 * exactly that. It does not when the survivor was in another branch (it followed a root that
 * sequenced different fragments before our head, e.g. one that took over while we were paused):
 * then its fragments must not be applied here on top of ours. The survivor is served our
 * snapshot instead when it opens, and resends the confirmed changes we lack. Unknown
 * fingerprints (an old peer, a store without them) keep today's behaviour: applied.
 */
export function extendsOurHistory(replica: Replica, answer: Message, head: DocHead | undefined): boolean {
  const ours = replica.log.chainAt(replica.seq)
  if (!head?.history || ours === undefined) return true
  let chain = ours
  let seq = replica.seq
  for (const envelope of BatchCodec.decode(answer.payload).envelopes) {
    const f = decodeMessage(envelope, Infinity)
    if (f.seq <= seq) continue
    if (f.seq !== seq + 1) return false
    chain = nextHistory(chain, f.seq, f.origin, f.clientSeq)
    seq = f.seq
    if (seq === head.seq) return chain === head.history
  }
  // The answer stops short of the head it announced (its log moved on): nothing to compare.
  return seq < head.seq ? false : true
}

/**
 * Whether a child's history may become ours: only a child that can be promoted (it binds; as
 * root it could sequence anything anyway). A leaf — a page behind a WebSocket edge — speaks for
 * itself alone: fragments or a snapshot from it would put anyone's changes, or any state, into
 * the document. Its own confirmed changes come back as resends, checked like any change.
 */
export function isTrustedSurvivor(node: NodeContext, child: EndpointId): boolean {
  return node.children.get(child)?.addresses !== undefined
}

/**
 * A survivor's answer to a recovering root: sequenced fragments the root lacked, or — when its
 * log no longer reaches back to the root's seq — its snapshot, which is newer than the root's.
 */
export function onSurvivorAnswer(node: NodeContext, m: Message): void {
  const replica = node.replicas.get(m.doc as DocId)
  if (!replica || !node.succession.recovering || !isTrustedSurvivor(node, m.origin)) return void node.stats.dropped++
  const head = node.children.get(m.origin)?.heads?.find((h) => h.doc === replica.doc)
  if (m.kind === Kind.SNAPSHOT && isTakingFrom(node, replica.doc, m.origin)) {
    tookLaterBranch(node, replica, m.seq, SnapshotCodec.decode(m.payload))
  } else if (m.kind === Kind.SNAPSHOT) {
    if (m.seq > replica.seq) {
      node.logger.warn({ doc: replica.doc, theirs: m.seq, ours: replica.seq }, "a survivor's log is short; taking its snapshot")
      replica.expectSnapshot = true
      replica.applySnapshot(m.seq, SnapshotCodec.decode(m.payload))
    }
  } else if (extendsOurHistory(replica, m, head)) {
    replica.receiveSequenced(m)
  } else if (isLaterBranch(replica, m)) {
    // Answered by its snapshot: recovery waits for that (see later-branch.ts).
    takeLaterBranch(node, replica, m.origin, head)
  } else {
    node.stats.dropped++
    node.logger.warn(
      { doc: replica.doc, survivor: m.origin, ours: replica.seq },
      "a survivor's history is another branch than ours; not taking its fragments (it gets our snapshot and resends what we lack)",
    )
  }
  node.succession.fetchDone(`${m.origin}/${replica.doc}`)
  node.defer(() => node.maybeEndRecovery())
}
