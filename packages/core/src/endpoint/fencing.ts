import { endpointIdFromBytes } from '../ids.js'
import { decodeMessage, encodeMessage } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import { HeartbeatCodec, type AddressInfo } from '../protocol/payloads.js'
import { CONTROL_TOPIC } from '../protocol/topics.js'
import { sleep } from '../runtime/clock.js'
import type { NodeContext } from './context.js'
import type { EndpointAddresses } from './options.js'
import { outranks } from './succession.js'

/** Former ancestors kept (the most recent ones). */
const ABOVE_KEPT = 32

/** At most this many addresses are listened to at once. */
const PARALLEL = 8

/** A root it heard of: its epoch and id, at one address. */
interface Heard {
  epoch: number
  root: string
  at: EndpointAddresses
}

/**
 * Fencing between roots. A root listens, now and then, on the outbound channels of every
 * endpoint it knows that is not its child (children lost to silence, the level it came from,
 * the tree it remembers from before a restart, and roots that told it about themselves) for a
 * heartbeat of a tree that outranks its own (`outranks`). Hearing one, it steps down and
 * re-joins that tree as a client; what it sequenced alone is resent as its own pending
 * changes, never merged silently. Hearing a root it outranks, it tells that root (a
 * heartbeat pushed to its inbound), which checks by listening itself. So two roots at one
 * epoch meet and resolve as soon as either knows of the other. Every ancestor an endpoint has
 * had is among what it knows: a root killed and restarted in place (a stale root at an old
 * epoch, whose memory may name only members that moved on) is found at its old address by
 * whoever was once below it, however many promotions later.
 */
export class Fencing {
  #probing = false
  #lastProbeAt = Number.NEGATIVE_INFINITY
  #includeChildren = false
  /** Addresses to listen to besides the children and siblings: hints and remembered peers. */
  readonly #extra = new Map<string, EndpointAddresses>()
  /** Every ancestor seen in a parent's chain (not cleared by a join, unlike hints). */
  readonly #above = new Map<string, EndpointAddresses>()

  constructor(readonly node: NodeContext) {}

  /** Addresses from the tree this endpoint remembers (its storage, after a restart). */
  remember(addresses: readonly EndpointAddresses[]): void {
    for (const a of addresses) this.#extra.set(a.inbound, a)
  }

  /** A parent's chain: its members are where this endpoint's tree was, should it be a root one day. */
  sawAbove(chain: readonly AddressInfo[]): void {
    for (const a of chain) {
      if (!a.inbound || !a.outbound || this.#above.has(a.inbound)) continue
      this.#above.set(a.inbound, { inbound: a.inbound, outbound: a.outbound })
      if (this.#above.size > ABOVE_KEPT) this.#above.delete(this.#above.keys().next().value!)
    }
  }

  /** A stranger's heartbeat says it is a root that outranks this one: listen to it soon. */
  hint(at: EndpointAddresses): void {
    if (this.#extra.size >= 256) return
    this.#extra.set(at.inbound, at)
    this.#lastProbeAt = Number.NEGATIVE_INFINITY
  }

  /**
   * The event loop was frozen (a pause, SIGSTOP): the tree may have gone on without us. Probe at
   * once, this time including our own children (they may have joined a successor meanwhile).
   */
  woke(): void {
    this.#includeChildren = true
    this.#lastProbeAt = Number.NEGATIVE_INFINITY
  }

  /**
   * Every tick of a restarted endpoint that was not the root and has not found its tree yet:
   * it keeps listening where the tree was, and never serves on its own.
   */
  seek(): void {
    const node = this.node
    if (this.#probing || node.closed || !node.succession.inLimbo || node.parent) return
    const now = node.clock.now()
    if (now - this.#lastProbeAt < node.opts.peerTimeoutMs * 2) return
    this.#lastProbeAt = now
    void this.probe([...this.#extra.values()], 'any')
  }

  /** Every tick at a root: probe when due. */
  tick(): void {
    const node = this.node
    if (this.#probing || node.closed || !node.succession.isRoot || node.succession.state !== 'settled') return
    const now = node.clock.now()
    if (now - this.#lastProbeAt < node.opts.peerTimeoutMs * 2) return
    this.#lastProbeAt = now
    const woke = this.#includeChildren
    const targets = this.#targets(now)
    if (!woke) return void this.probe(targets)
    // Just woken: confirm nothing until we know no tree went on without us.
    node.replicas.hold()
    void this.probe(targets)
      .catch(() => false)
      .then((joined) => {
        if (!joined && node.succession.isRoot) node.replicas.release()
      })
  }

  #targets(now: number): EndpointAddresses[] {
    const node = this.node
    const targets = new Map<string, EndpointAddresses>()
    const self = node.addresses?.inbound
    const includeChildren = this.#includeChildren
    this.#includeChildren = false
    const children = includeChildren ? [...node.children.values()] : []
    for (const p of [...node.children.probeTargets(now), ...node.succession.previousSiblings, ...children]) {
      if (p.id === node.id || !p.addresses || (node.children.has(p.id) && !includeChildren)) continue
      targets.set(p.addresses.inbound, p.addresses)
    }
    for (const [inbound, a] of [...this.#extra, ...this.#above]) targets.set(inbound, a)
    if (self) targets.delete(self)
    return [...targets.values()]
  }

  /**
   * Listens to `targets` for a tree that outranks this one; joins the best heard. Returns true
   * if it stepped down and joined. Also used at start by a restarted root (then in limbo).
   */
  async probe(targets: EndpointAddresses[], restarted: 'no' | 'at-least-as-new' | 'any' = 'no'): Promise<boolean> {
    const node = this.node
    if (targets.length === 0) return false
    this.#probing = true
    try {
      const heard: Heard[] = []
      for (let i = 0; i < targets.length && !node.closed; i += PARALLEL) {
        const batch = await Promise.all(targets.slice(i, i + PARALLEL).map((at) => this.#listen(at)))
        for (const h of batch) if (h) heard.push(h)
      }
      const self = { epoch: node.succession.epoch, id: node.id }
      // A restarted endpoint has no claim of its own: any tree at least as new as the one it
      // remembers is the real one. A running root yields only to a tree that outranks it.
      // (A restarted non-root takes any tree: it has no subtree and its documents are stale.)
      const wins = (h: Heard) => (restarted === 'no' ? outranks(h, self) : h.root !== node.id && (restarted === 'any' || h.epoch >= self.epoch))
      const better = heard.filter(wins).sort((a, b) => b.epoch - a.epoch || (a.root < b.root ? -1 : 1))
      if (node.succession.isRoot) {
        // Roots this one outranks learn of it, so a split heals even if they never knew us.
        for (const h of heard) if (h.root !== node.id && outranks({ epoch: self.epoch, root: node.id }, { epoch: h.epoch, id: h.root })) this.#tell(h.at)
      }
      let steppedDown = false
      for (const h of better) {
        if (node.closed) return false
        node.logger.warn({ epoch: h.epoch, ours: node.succession.epoch, at: h.at.inbound }, 'a tree that outranks ours exists; re-joining it as a client')
        if (node.succession.isRoot) {
          node.succession.stepDown()
          steppedDown = true
        }
        try {
          await node.join(h.at, node.opts.peerTimeoutMs * 2)
          node.children.forgetRecent()
          this.#extra.clear()
          node.updateRole()
          return true
        } catch (error) {
          node.logger.warn({ err: error }, 're-joining the tree that outranks ours failed; trying the next')
        }
      }
      if (steppedDown && node.succession.inLimbo && !node.parent && !node.closed) {
        // Every join failed: be the root again rather than nobody's child, but confirm
        // nothing until the next probe (this one's targets kept) has had its try.
        node.succession.resumeAsRoot()
        node.updateRole()
        node.replicas.hold()
        this.#includeChildren = true
        node.logger.warn({ epoch: node.succession.epoch }, 'could not re-join the tree that outranks ours; root again until the next try')
      }
      return false
    } finally {
      this.#probing = false
    }
  }

  /** Pushes this root's heartbeat to another root's inbound: a hint to look at us. */
  #tell(at: EndpointAddresses): void {
    const node = this.node
    const transport = node.opts.joinTransport ?? node.opts.transport
    void (async () => {
      const push = await transport.push(at.inbound, { maxMessageBytes: node.opts.maxMessageBytes })
      try {
        const payload = HeartbeatCodec.encode({ heads: [], rosterVersion: 0, ancestors: node.ancestorChain() })
        await push.send(encodeMessage({ kind: Kind.HEARTBEAT, origin: node.id, epoch: node.succession.epoch, payload }))
        await sleep(node.clock, 50)
      } finally {
        await push.close()
      }
    })().catch((error: unknown) => node.logger.info({ err: error, at: at.inbound }, 'telling another root about this one failed'))
  }

  async #listen(at: EndpointAddresses): Promise<Heard | undefined> {
    const node = this.node
    const transport = node.opts.joinTransport ?? node.opts.transport
    let sub
    try {
      sub = await transport.sub(at.outbound, { maxMessageBytes: node.opts.maxMessageBytes })
    } catch {
      return undefined
    }
    sub.subscribe(CONTROL_TOPIC)
    const timer = node.clock.setTimeout(() => void sub.close(), node.opts.heartbeatMs * 4)
    try {
      for await (const frames of sub) {
        try {
          const m = decodeMessage(frames[1] ?? new Uint8Array(0), node.opts.maxMessageBytes)
          if (m.kind !== Kind.HEARTBEAT) continue
          // The chain ends with the root; a root's own chain is just itself.
          const chain = HeartbeatCodec.decode(m.payload).ancestors
          const last = chain[chain.length - 1]
          const root = last && last.id.byteLength === 16 ? endpointIdFromBytes(last.id) : m.origin
          // Heard through a member of our own tree: not another tree.
          if (chain.some((a) => a.id.byteLength === 16 && endpointIdFromBytes(a.id) === node.id)) return undefined
          return { epoch: m.epoch, root, at }
        } catch {
          // not a Zinc heartbeat; keep listening until the timer closes the channel
        }
      }
      return undefined
    } finally {
      node.clock.clearTimeout(timer)
      await sub.close()
    }
  }
}
