import { encodeMessage } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import { HeartbeatCodec } from '../protocol/payloads.js'
import { CONTROL_TOPIC } from '../protocol/topics.js'
import { sameBytes } from '../runtime/bytes.js'
import type { NodeContext } from './context.js'
import { OpenRetries } from './open-retry.js'
import { accessTick } from './root-access.js'
import { recheckReaders } from './revocation.js'

/** What the tick needs besides the node: whether its listeners could read, and fencing. */
export interface TickPorts {
  /** True while a listener waits for room in the handler queue (it reads nothing meanwhile). */
  stalled(channel: 'inbound' | 'parent'): boolean
  fencingTick(): void
  /** This root's event loop was frozen: look for a tree that went on without it. */
  woke(): void
  /** A restarted endpoint still looking for its tree: probe when due. */
  seek(): void
}

/**
 * Everything periodic, every heartbeatMs: heartbeats both ways, liveness of children and
 * parent, and the retries that make lossy links converge (opens, catch-ups, pending changes).
 * Liveness is judged on frames read (stamped by the listeners, before any handler queue),
 * and never while this endpoint itself could not read: a blocked event loop or a full handler
 * queue is not a dead peer.
 */
export class Ticker {
  #lastTickAt: number
  #lastBeat: { tree: Uint8Array; epoch: number; at: number } | undefined
  readonly #openRetries = new OpenRetries()
  /** The subtree size last reported up, and when (a leaf reports 1, in an empty heartbeat). */
  #reported = { subtree: 1, at: 0 }
  #leafBeat: { epoch: number; bytes: Uint8Array } | undefined

  constructor(
    readonly node: NodeContext,
    readonly ports: TickPorts,
  ) {
    this.#lastTickAt = node.clock.now()
  }

  /** Per document at a root: its oldest own change still unanswered, and since when. */
  readonly #oldestOwn = new Map<string, { clientSeq: number; since: number; warned: number }>()

  /**
   * A change still unanswered after several peer timeouts (a root answers its own at once; a
   * child's are resent every `resendMs`) is stuck: the log says why, at most every 10 s per
   * document.
   */
  #watchOwnChanges(now: number): void {
    const node = this.node
    // Detached (offline, in a failover), waiting is expected: only an attached endpoint is stuck.
    if (!node.succession.isRoot && !node.parent?.welcomed) return this.#oldestOwn.clear()
    const waitMs = node.opts.peerTimeoutMs * 3
    for (const replica of node.replicas.values()) {
      const oldest = replica.pending[0]?.fragment.clientSeq
      if (oldest === undefined) {
        this.#oldestOwn.delete(replica.doc)
        continue
      }
      const seen = this.#oldestOwn.get(replica.doc)
      if (!seen || seen.clientSeq !== oldest) this.#oldestOwn.set(replica.doc, { clientSeq: oldest, since: now, warned: 0 })
      else if (now - seen.since > waitMs && now - seen.warned > 10_000) {
        seen.warned = now
        node.logger.warn({ ...replica.pendingDiagnosis(), waitingMs: now - seen.since, root: node.succession.isRoot }, 'our changes wait unanswered')
      }
    }
  }

  /**
   * The heartbeat up: a leaf's is the same bytes every time (empty, at one epoch), encoded once
   * per epoch — a thousand tabs in one process each encoded theirs twice a second (the origin's
   * UUID parsed every time). A relay's carries its subtree (and one that had children says 1).
   */
  #upBeat(subtree: number, reported: number): Uint8Array {
    const node = this.node
    const epoch = node.succession.epoch
    if (subtree > 1 || reported > 1) {
      const payload = HeartbeatCodec.encode({ heads: [], rosterVersion: 0, ancestors: [], subtree })
      return encodeMessage({ kind: Kind.HEARTBEAT, origin: node.id, epoch, payload })
    }
    if (this.#leafBeat?.epoch !== epoch) this.#leafBeat = { epoch, bytes: encodeMessage({ kind: Kind.HEARTBEAT, origin: node.id, epoch }) }
    return this.#leafBeat.bytes
  }

  tick(): void {
    const node = this.node
    if (node.closed) return
    const now = node.clock.now()
    const { peerTimeoutMs, resendMs } = node.opts
    // A tick this late means the event loop was blocked (a slow synchronous handler): nobody
    // could be heard meanwhile, so nobody is judged on that silence.
    const frozen = now - this.#lastTickAt > peerTimeoutMs / 2
    this.#lastTickAt = now
    if (frozen || this.ports.stalled('inbound')) node.children.touchAll(now)
    if (node.parent && (frozen || this.ports.stalled('parent'))) node.parent.heard(now)
    if (frozen && node.succession.isRoot) this.ports.woke()
    if (node.addresses) {
      // A root publishes even without children, so a stale root probing its old roster hears the epoch.
      // One frame for all children, at once when the tree changed (the roster, the chain, a new
      // epoch), else at most every fifth of the peer timeout: an idle edge with a thousand tabs
      // writes to each socket twice a second, not four times. A head that moved waits for the
      // next beat: the fragments that moved it are on their way to the children (a heartbeat
      // only finds the rare gap), and a beat at once after every change doubled an edge's
      // writes — a second fan-out to every tab, each decoding it — while a lecture edits.
      const tree = HeartbeatCodec.encode({ heads: [], rosterVersion: node.children.version, ancestors: node.ancestorChain() })
      const epoch = node.succession.epoch
      const last = this.#lastBeat
      if (!last || last.epoch !== epoch || !sameBytes(last.tree, tree) || now - last.at >= liveEvery(node, node.children.shortestPeerTimeout)) {
        this.#lastBeat = { tree, epoch, at: now }
        const payload = HeartbeatCodec.encode({ heads: node.replicas.heads(), rosterVersion: node.children.version, ancestors: node.ancestorChain() })
        node.publish(CONTROL_TOPIC, encodeMessage({ kind: Kind.HEARTBEAT, origin: node.id, epoch, payload }))
      }
      for (const child of node.children.silentSince(now - peerTimeoutMs)) node.removeChild(child.id, 'silent')
    }
    if (node.isSettled()) node.replicas.serveWaiting()
    accessTick(node)
    recheckReaders(node)
    if (node.succession.isRoot) {
      node.maybeEndRecovery()
      this.ports.fencingTick()
      this.#watchOwnChanges(now)
      return
    }
    this.#watchOwnChanges(now)
    this.ports.seek()
    const link = node.parent
    if (!link || node.succession.inLimbo) return
    // Upward, a heartbeat only when nothing else went up lately, and at most every fifth of
    // the peer timeout (every other tick by default): a parent of a thousand idle children
    // reads half as many frames, and still hears each one at least three times per timeout.
    // A relay's heartbeat also says how many endpoints its subtree holds (itself included): its
    // parent adds it to its own, so a root knows the size of its tree from its children alone.
    // It goes up even when other frames did, once that size changed, and again every peer
    // timeout (a parent that forgot us, or a new one after a failover, counts us as one until
    // told). A leaf's is empty (just itself).
    if (link.welcomed) {
      const subtree = node.children.descendants + 1
      const every = liveEvery(node, link.peerTimeoutMs)
      const since = now - this.#reported.at
      const due = (subtree !== this.#reported.subtree && since >= every) || (subtree > 1 && since >= peerTimeoutMs)
      if (due || now - link.sentAt >= every) {
        node.sendUp(this.#upBeat(subtree, this.#reported.subtree))
        this.#reported = { subtree, at: now }
      }
    } else node.sendHello()
    if (link.silentFor(now) > peerTimeoutMs) {
      node.startFailover(`the parent was silent for ${link.silentFor(now)} ms`)
      return
    }
    for (const replica of node.replicas.values()) {
      // An open not answered (not ready yet, or a reopen after a re-join whose answer was lost):
      // ask again, backing off (open-retry.ts). Children's opens of this document wait for it.
      if (!replica.ready || replica.awaitingServe) {
        if (this.#openRetries.due(replica, now, resendMs)) {
          node.replicas.requestOpen(replica)
          this.#openRetries.resent(replica, resendMs)
        }
        if (!replica.ready) continue
      }
      if (replica.hasGap) replica.requestCatchUp(resendMs)
      node.stats.resent += replica.resendPending(resendMs)
    }
  }
}

/**
 * How often an idle link must show it is alive: every fifth of the peer timeout (every other
 * tick by default), so a peer is heard at least three times per timeout; never more often
 * than the tick. The timeout is the shorter of ours and the one the other end said it has
 * (`theirs`): a parent with a long timeout beating at its own pace was presumed dead by
 * children with a short one, which then made a second root at its epoch (issue 12).
 */
function liveEvery(node: NodeContext, theirs = Infinity): number {
  return Math.max(node.opts.heartbeatMs, Math.min(node.opts.peerTimeoutMs, theirs) / 5)
}
