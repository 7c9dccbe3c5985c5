import type { Replica } from '../../document/replica.js'
import type { BadFrameError } from '../../errors.js'
import { endpointIdFromBytes, type DocId } from '../../ids.js'
import type { Message } from '../../protocol/codec.js'
import { decodeJson } from '../../protocol/json.js'
import { OpenCodec, type Open } from '../../protocol/payloads.js'
import type { NodeContext, Work } from '../context.js'
import { openAtRootOrRefuse, openValueAllowed, refuseDoc, relayRefusal, serveOpen } from '../edge-checks.js'
import { whenReached } from '../opener-ahead.js'
import { askRoot } from '../root-access.js'
import { allowed, answered, reasonOf } from './verdicts.js'

/**
 * A child's OPEN: checked against the authorize hook (at a relay, the root's decision), then
 * served from this endpoint's copy — a catch-up when the opener shares our history, else a
 * snapshot — once this endpoint and the document are ready.
 */
export async function onOpen(node: NodeContext, m: Message, from: Work['from']): Promise<void> {
  const doc = m.doc as DocId
  const open = OpenCodec.decode(m.payload)
  // The initial value is checked where it enters the tree, and refused there by name.
  if (from === 'child' && !openValueAllowed(node, m, open)) return
  for (const action of ['open', 'read'] as const) {
    const verdict = await allowed(node, { endpoint: m.origin, doc, action })
    if (verdict !== true) return node.refuse(m.origin, 'ERR_ACCESS_DENIED', reasonOf(verdict, `not allowed to ${action} this document`), doc)
  }
  if (node.succession.isRoot || from !== 'child') return serveOpenOf(node, m, open)
  // A relay serves from its own copy only what the root's authorize allows (see root-access.ts).
  // The answer may take a round trip: the open goes on from it, and this document's lane is free meanwhile.
  askRoot(node, m.origin, doc, 'open', (decision) => {
    // The opener left while the root was asked: nothing to serve.
    if (node.closed || !node.children.has(m.sender)) return
    if (!decision.allowed) return node.refuse(m.origin, decision.code, decision.reason, doc)
    void answered(node, m, 'ERR_BAD_REQUEST', (n, msg) => serveOpenOf(n, msg, open))
  })
}

/** An open that passed every check: served now, or once this endpoint and the document are ready. */
async function serveOpenOf(node: NodeContext, m: Message, open: Open): Promise<void> {
  const doc = m.doc as DocId
  const child = node.children.get(m.sender)
  let replica = node.replicas.get(doc)
  if (!replica && node.succession.isRoot) {
    let initial: unknown = {}
    try {
      if (open.hasInitial) initial = decodeJson(open.initial, 'the initial value')
    } catch (error) {
      return refuseDoc(node, m.origin, doc, 'ERR_BAD_VALUE', `${(error as BadFrameError).reason ?? String(error)}; open it with a plain JSON value`)
    }
    // Never silence: a document that cannot be loaded answers ERR_STORAGE_CORRUPT, by name.
    replica = await openAtRootOrRefuse(node, m, isObject(initial) ? initial : {})
    if (!replica) return
  }
  if (!replica) {
    replica = node.replicas.create(doc)
    node.replicas.requestOpen(replica, { hasInitial: open.hasInitial, initial: open.initial })
  }
  replica.children.add(m.origin)
  child?.docs.add(doc)
  // Decided just now; decided again every accessCacheMs while it reads (revocation.ts).
  if (child && m.origin === m.sender && (!node.succession.isRoot || node.opts.authorize)) node.grants.served(m.origin, doc, node.clock.now())
  // Its connection may now hear the document (on a gated PUB nothing else gets through).
  node.identities.admitDoc(m.sender, doc)
  const r = replica
  // A refusal of this relay's own open reaches everyone waiting on it.
  const stopRelaying = r.ready ? undefined : relayRefusal(node, r, m.origin)
  let ahead = false
  const serve = () => {
    stopRelaying?.()
    if (node.closed) return
    if (!ahead && m.seq > r.seq) {
      // The opener is ahead of us: answer once we hold what it holds (see whenReached), and
      // then as any open, once settled.
      ahead = true
      return whenReached(node, r, m.seq, () => node.replicas.serveWhenReady(r, m.origin, node.isSettled(), serve))
    }
    const same = m.seq > 0 && !node.replicas.mustResync(r.doc, m.origin) && sameHistory(r, m.seq, open)
    serveOpen(node, m.origin, doc, () => (same ? r.catchUpMessage(m.seq, open.lastEpoch) : r.snapshotMessage()))
  }
  // A recovering root answers once it holds everything the survivors had; an endpoint in a
  // failover once it has found its place and caught up there. Opens wait per document.
  node.replicas.serveWhenReady(replica, m.origin, node.isSettled(), serve)
}

/**
 * Whether the opener's history agrees with ours at `seq`: the same fragment (origin and
 * clientSeq) there, when it told us which. Two roots of one epoch (a healed split) sequence
 * different fragments under the same epoch; only this tells their histories apart.
 */
function sameHistory(replica: Replica, seq: number, open: { lastOrigin?: Uint8Array; lastClientSeq?: number; lastHistory?: number }): boolean {
  // Both fingerprints known: they compare the whole history up to `seq`, not only its last fragment.
  const ours = replica.log.chainAt(seq)
  if (open.lastHistory && ours !== undefined) return open.lastHistory === ours
  if (!open.lastOrigin || open.lastOrigin.byteLength !== 16) return true
  const entry = replica.log.at(seq)
  // Our log no longer holds that seq (it was just replaced by a snapshot): we cannot tell.
  if (!entry) return false
  return endpointIdFromBytes(open.lastOrigin) === entry.origin && open.lastClientSeq === entry.clientSeq
}

function isObject(v: unknown): v is object {
  return typeof v === 'object' && v !== null
}
