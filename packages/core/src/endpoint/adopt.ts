import { STORED_ELSEWHERE_CODE } from '../errors.js'
import type { DocId, EndpointId } from '../ids.js'
import { encodeMessage } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import type { DocHead } from '../protocol/payloads.js'
import type { Storage } from '../storage.js'
import type { NodeContext } from './context.js'
import { fetchFromSurvivor, isTrustedSurvivor } from './survivor-fetch.js'

/**
 * During recovery, at a root whose coordinator may hand it documents it never held (a shard
 * that moved to this host, `Coordinator.adoptsDocuments`): takes each such document a survivor
 * holds from that survivor's snapshot. Fragments alone would not do: they apply on the
 * document's first state, which only its old root and its openers knew. Each counts as a fetch
 * in flight, so recovery does not end (and nothing is sequenced) before the answer is in.
 * Without this, such a document is re-created empty and its openers resend their changes.
 */
export function adoptFromSurvivor(node: NodeContext, child: EndpointId, heads: readonly DocHead[]): void {
  if (!node.coordination?.adoptsDocuments || !node.succession.recovering || !isTrustedSurvivor(node, child)) return
  const storage = node.opts.storage
  for (const head of heads) {
    const doc = head.doc as DocId
    const known = node.replicas.get(doc)
    // Held at seq 0: opened here (as a relay, say) but never received from the old root, and
    // seeded blank at promotion; the survivor's snapshot is the document, not fragments on it.
    if (head.seq === 0 || (known && known.seq > 0 && !node.succession.isAdopting(doc))) continue
    // Our own store may hold it (a host back on its store, the shard handed back to it), or
    // another host's store may hold its latest copy (the coordinator says): first see, see
    // fromOwnStore.
    if (!known && (storage || node.replicas.ports.check) && !node.succession.isAdopting(doc)) {
      void fromOwnStore(node, storage, child, head)
      continue
    }
    adopt(node, child, head)
  }
}

/** Takes `head.doc` from the survivor `child`: asks for its snapshot, recovery waiting for it. */
function adopt(node: NodeContext, child: EndpointId, head: DocHead): void {
  const doc = head.doc as DocId
  const known = node.replicas.get(doc)
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

/**
 * A document a survivor offers that this root does not hold in memory, but may hold in its own
 * store, perhaps further than the survivor (which may have lagged behind what this root
 * confirmed and stored before it went away). Its snapshot taken blindly replaced the stored
 * history with a shorter one: the changes past it were lost, and every later append was refused
 * (the stored log was ahead: "expected seq 145, got 67", sharded chaos seed 104). So the stored
 * copy is restored first, when the coordinator agrees it is the latest (Coordinator.checkDocument:
 * not when another host's store has a newer one); then only what the survivor holds beyond it is
 * fetched, as from any survivor (a later branch is taken as such, see later-branch.ts). With no
 * stored copy anywhere, the survivor's snapshot is adopted as before.
 *
 * When the coordinator says the latest copy is in the store of another host that is running,
 * the survivor's is not adopted either: the record names the last host that stored the
 * document, and a root confirms only what it stored, so that copy holds every confirmed change
 * and the survivor's may lag it. Adopted, it replaced the document with an older one (sharded
 * chaos under load: 24 of 34 confirmed changes lost, and the holder's store refused every later
 * append). The document is then not held here; its openers' opens are refused for now and
 * retried, and the holder is lent the shard to serve it (Coordinator.checkDocument), as for any
 * open. A holder that is not running may never come back: the survivors' copies are adopted
 * then, as before (docs/chaos.md, "When a confirmed change can still be lost"). Recovery waits
 * for the check (it counts as a fetch in flight).
 */
async function fromOwnStore(node: NodeContext, storage: Storage | undefined, child: EndpointId, head: DocHead): Promise<void> {
  const doc = head.doc as DocId
  const key = `${child}/${doc}`
  node.succession.fetchStarted(key)
  // Several survivors may offer it at once: each loads, the first restores (see restoreStored).
  const elsewhere = await restoreStored(node, storage, doc)
  if (node.closed || !node.succession.recovering) return void node.succession.fetchDone(key)
  // The root that handed the shard over (a required survivor) brings what it held: its copy is
  // the one its store, the holder, has (a shard moving between live hosts).
  if (elsewhere && !node.succession.requiredSurvivors.has(child)) {
    node.logger.warn({ child, doc, theirs: head.seq, holder: elsewhere }, "not adopting a survivor's copy: the latest copy is in another host's store; opens wait for that host to serve it")
    node.succession.fetchDone(key)
    node.maybeEndRecovery()
    return
  }
  const restored = node.replicas.get(doc)
  if (restored && restored.seq > 0 && !node.succession.isAdopting(doc)) {
    fetchFromSurvivor(node, child, [head])
    if (head.seq <= restored.seq) node.succession.fetchDone(key)
  } else {
    adopt(node, child, head)
  }
  node.maybeEndRecovery()
}

/**
 * Restores `doc` from our store into a (paused) replica, when it is there and the latest copy.
 * Returns the host whose store has the latest copy when it is not ours (nothing restored then).
 */
async function restoreStored(node: NodeContext, storage: Storage | undefined, doc: DocId): Promise<string | undefined> {
  try {
    await node.replicas.ports.check?.(doc, false)
    if (!storage) return undefined
    const stored = await storage.load(doc)
    // Created and restored in one step: a replica here now is another load's, or an open's.
    if (!stored || node.closed || node.replicas.get(doc) || !node.succession.recovering) return
    const replica = node.replicas.create(doc)
    replica.restore(stored)
    // Sequenced only once recovery ends, as every document of a promoted root.
    replica.sequencer?.pause()
    node.logger.info({ doc, seq: replica.seq }, 'a survivor offers a document this root has in its own store: restored it first')
  } catch (error) {
    // A running holder can serve it (the shard is lent to it on the next open); a holder that is
    // not running may never come back, and the survivors' copies keep the document available.
    // (By its code, not its class: the coordinator's package may bring its own copy of core.)
    const elsewhere = error as { code?: unknown; holder?: unknown; holderRunning?: unknown }
    if (elsewhere.code === STORED_ELSEWHERE_CODE && elsewhere.holderRunning === true) return typeof elsewhere.holder === 'string' ? elsewhere.holder : 'another host'
    // Ours cannot be read, or the check could not be made (etcd unreachable): the survivor's it is.
    node.logger.info({ doc, reason: (error as Error).message }, 'not restoring a document from our store before adopting it')
  }
  return undefined
}
