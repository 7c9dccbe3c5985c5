import type { Replica } from '../document/replica.js'
import type { DocId, EndpointId } from '../ids.js'
import { decodeMessage, encodeMessage, type Message } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import { BatchCodec, type DocHead, type Snapshot } from '../protocol/payloads.js'
import { orphansBeyond } from './branch-up.js'
import type { NodeContext } from './context.js'

/**
 * A recovering root whose survivor is on another branch (see survivor-fetch.ts) keeps its own
 * history when it is the later one: the survivor followed a stale root, and passes up what we
 * lack. But a root elected *again* — paused or cut off while another root led, then elected
 * once that one died — holds the older branch: what the later root confirmed is in the
 * survivors, not here. Kept, our history won, and the survivors' confirmed changes came back
 * as resends made on our head: list inserts landed elsewhere or out of bounds (refused),
 * confirmed then lost (issue 12, sharded chaos seed 102). Which root is later is what the
 * epochs of the two heads say: a root's epoch rises with every election.
 *
 * Then the survivor's branch becomes ours: we take its snapshot, and what only our branch held
 * goes to our own sequencer, as any endpoint passes up what a new root lacks — our own changes
 * as pending ones (Replica.applySnapshot), others' as their resends (the sequencer dedupes by
 * origin and clientSeq). The survivor being taken from is the succession's state (it ends
 * with recovery).
 */

/** Whether the survivor's answer comes from a later root than our head's (its newest fragment's epoch is higher). */
export function isLaterBranch(replica: Replica, answer: Message): boolean {
  const ours = replica.log.at(replica.seq)?.epoch
  if (ours === undefined) return false
  let theirs = 0
  for (const envelope of BatchCodec.decode(answer.payload).envelopes) theirs = Math.max(theirs, decodeMessage(envelope, Infinity).epoch)
  return theirs > ours
}

/**
 * Whether a survivor's head (from its HELLO), at or behind our seq, is on another branch than
 * ours and was sequenced by a later root: its fingerprint there is not ours, and its epoch is
 * higher than our head's. Our own branch may be the longer one (a stale root sequencing on its
 * own), so a head that is not ahead is no proof of being behind.
 */
export function isLaterBranchHead(replica: Replica, head: DocHead): boolean {
  const ours = replica.log.at(replica.seq)?.epoch
  if (!head.epoch || !head.history || ours === undefined || head.epoch <= ours) return false
  const chain = replica.log.chainAt(head.seq)
  return chain !== undefined && chain !== head.history
}

/** Asks the survivor for its snapshot (a seq past its head: see Replica.catchUpMessage); recovery waits for it. */
export function takeLaterBranch(node: NodeContext, replica: Replica, survivor: EndpointId, head: DocHead | undefined): void {
  if (!node.succession.takeLaterBranch(replica.doc, survivor)) return
  node.logger.warn({ doc: replica.doc, survivor, ours: replica.seq, theirs: head?.seq }, "a survivor holds a later root's branch; taking it, and passing on what only ours holds")
  replica.sequencer?.pause()
  // Its own key: the answer that brought us here ends the fetch it answered, not this one.
  node.succession.fetchStarted(branchFetch(survivor, replica.doc))
  node.sendTo(survivor, encodeMessage({ kind: Kind.CATCH_UP, origin: node.id, doc: replica.doc, seq: Math.max(head?.seq ?? 0, replica.seq) + 1, epoch: node.succession.epoch }))
}

/** Whether `survivor`'s snapshot of `doc` is the later branch we asked for. */
export function isTakingFrom(node: NodeContext, doc: DocId, survivor: EndpointId): boolean {
  return node.succession.laterBranchOf(doc) === survivor
}

/** The later branch's snapshot arrived: it replaces ours, and what only ours held is sequenced again. */
export function tookLaterBranch(node: NodeContext, replica: Replica, seq: number, snapshot: Snapshot): void {
  const survivor = node.succession.laterBranchOf(replica.doc)
  node.succession.tookLaterBranch(replica.doc)
  if (survivor) node.succession.fetchDone(branchFetch(survivor, replica.doc))
  const orphans = orphansBeyond(replica, snapshot, node.id)
  replica.expectSnapshot = true
  replica.applySnapshot(seq, snapshot, orphans)
  if (orphans.length > 0) node.logger.warn({ doc: replica.doc, changes: orphans.length }, "the later branch lacks other endpoints' changes our branch sequenced; sequencing them again")
  for (const o of orphans) {
    const resend = encodeMessage({ kind: Kind.FRAGMENT, origin: o.origin, sender: node.id, doc: replica.doc, clientSeq: o.clientSeq, baseSeq: seq, epoch: node.succession.epoch, payload: o.payload })
    replica.sequencer?.accept(decodeMessage(resend, Infinity))
  }
}

/** The fetch key of a later branch's snapshot (a survivor's key prefix, so recovery waits for it). */
function branchFetch(survivor: EndpointId, doc: string): string {
  return `${survivor}/${doc}#later-branch`
}
