import type { Replica } from '../document/replica.js'
import { endpointIdFromBytes, type DocId, type EndpointId } from '../ids.js'
import { decodeMessage, encodeMessage, type Message } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import { BatchCodec, type Snapshot } from '../protocol/payloads.js'
import type { NodeContext } from './context.js'
import type { Verdict } from './options.js'
import { forwardUp } from './forwarding.js'

/** Room left in a message for everything but the branch's envelopes. */
const ENVELOPE_ROOM = 4096

/**
 * Before a snapshot replaces this replica's history (it followed another root: the tree that
 * lost a same-epoch tie-break, a stale root re-joining), what it holds beyond the snapshot —
 * the changes that history confirmed and the new root lacks, its own and others' — goes up as
 * one BRANCH after the fork: the root merges it (see document/branch.ts), carried past its own
 * history. Resent one by one as they were sequenced over there, a list insert landed elsewhere
 * or out of bounds and was refused: a confirmed change lost (issue 12). The resends still
 * follow (own changes, orphans): duplicates once the branch is merged, and the way in when the
 * root cannot merge it.
 */
export function passBranchUp(node: NodeContext, replica: Replica, snapshot: Snapshot): void {
  const has = new Map<EndpointId, number>()
  for (const { origin, clientSeq } of snapshot.clientSeqs) has.set(endpointIdFromBytes(origin), clientSeq)
  const entries = replica.log.entriesAfter(0)
  const first = entries.findIndex((e) => e.clientSeq > (has.get(e.origin) ?? 0))
  if (first < 0) return
  const fork = entries[first]!.seq - 1
  const chain = replica.log.chainAt(fork)
  if (!chain) return
  const envelopes: Uint8Array[] = []
  let bytes = ENVELOPE_ROOM
  for (const e of entries.slice(first)) {
    // A branch is a run of changes the root lacks, each following its origin's last; a history
    // that mixes in changes the root has is not one the root can take whole.
    if (e.clientSeq !== (has.get(e.origin) ?? 0) + 1) return
    has.set(e.origin, e.clientSeq)
    envelopes.push(e.envelope)
    bytes += e.envelope.byteLength
  }
  if (bytes > node.opts.maxMessageBytes) return
  node.logger.info({ doc: replica.doc, fork, changes: envelopes.length }, 'passing up the changes our former history confirmed beyond the fork, to be merged')
  node.sendUp(encodeMessage({ kind: Kind.BRANCH, origin: node.id, doc: replica.doc, seq: fork, epoch: node.succession.epoch, payload: BatchCodec.encode({ envelopes, history: chain }) }))
}

/**
 * A BRANCH from below: a relay passes it up; the root merges it. With an `authorize` hook, only
 * when every author in it may change the document, as each would have to if its change came
 * as a resend. (A sharded host always has the hook — it refuses documents of other shards —
 * and dropping every branch there left the resends alone to carry another history's changes:
 * made on another head, a list insert landed elsewhere or out of bounds, and a confirmed change
 * was lost: sharded chaos seed 1.)
 */
export function onBranch(node: NodeContext, m: Message): void | Promise<void> {
  if (!node.succession.isRoot) return forwardUp(node, m)
  const doc = m.doc as DocId
  const sequencer = node.replicas.get(doc)?.sequencer
  if (!sequencer) return void node.stats.dropped++
  let batch
  const authors = new Set<EndpointId>()
  try {
    batch = BatchCodec.decode(m.payload)
    if (node.opts.authorize) for (const envelope of batch.envelopes) authors.add(decodeMessage(envelope, Infinity).origin as EndpointId)
  } catch {
    return void node.stats.badFrames++
  }
  const merge = () => sequencer.mergeBranch(m.seq, batch.history ?? 0, batch.envelopes)
  const authorize = node.opts.authorize
  if (!authorize) return merge()
  const notMerged = (why: string) => node.logger.info({ doc, fork: m.seq, why }, 'a branch was not merged; its changes come as resends, each authorized')
  const decide = (all: readonly Verdict[]) => (all.every((v) => v === true) ? merge() : notMerged('an author in it may not change the document'))
  let verdicts: Array<Verdict | Promise<Verdict>>
  try {
    verdicts = [...authors].map((endpoint) => (endpoint === node.id ? true : authorize({ endpoint, doc, action: 'change' })))
  } catch (error) {
    return notMerged(`the authorize hook threw: ${(error as Error).message}`)
  }
  // Synchronous verdicts decide at once: the resends that follow the branch must find it merged.
  if (verdicts.every((v) => typeof v === 'boolean' || typeof v === 'string')) return decide(verdicts as Verdict[])
  return Promise.all(verdicts).then(decide, (error: unknown) => notMerged(`the authorize hook failed: ${(error as Error).message}`))
}

/**
 * Fragments in our log whose (origin, clientSeq) a snapshot does not contain, other than our
 * own (the replica resends those itself), oldest first, per origin only a gapless run after
 * what the snapshot has (a gap would make the root wait for a resend from an author who may
 * be gone).
 */
export function orphansBeyond(replica: Replica, snapshot: Snapshot, self: EndpointId): Array<{ origin: EndpointId; clientSeq: number; payload: Uint8Array }> {
  const has = new Map<EndpointId, number>()
  for (const { origin, clientSeq } of snapshot.clientSeqs) has.set(endpointIdFromBytes(origin), clientSeq)
  const out: Array<{ origin: EndpointId; clientSeq: number; payload: Uint8Array }> = []
  for (const entry of replica.log.entriesAfter(0)) {
    if (entry.origin === self) continue
    const next = (has.get(entry.origin) ?? 0) + 1
    if (entry.clientSeq !== next) continue
    has.set(entry.origin, next)
    try {
      out.push({ origin: entry.origin, clientSeq: entry.clientSeq, payload: decodeMessage(entry.envelope, Infinity).payload })
    } catch {
      // an envelope we cannot read again: nothing to pass up
    }
  }
  return out
}
