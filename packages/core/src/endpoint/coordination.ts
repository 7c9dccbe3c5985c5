import { JoinTimeoutError } from '../errors.js'
import { sleep } from '../runtime/clock.js'
import type { NodeContext } from './context.js'
import type { CoordinatedMember, Coordinator, CoordinationView, Leader } from './coordinator.js'
import type { EndpointId } from '../ids.js'
import { adoptFromSurvivor } from './adopt.js'
import { becomeRoot } from './failover.js'
import type { EndpointAddresses } from './options.js'
import { successionOrder } from './succession.js'
import { fetchFromSurvivor } from './survivor-fetch.js'

/**
 * An endpoint whose root is decided by a coordinator (etcd). The service's word replaces the
 * embedded succession and fencing: this endpoint becomes root only when elected, at the
 * epoch the service issued; it steps down when its leadership lapses; it follows (joins) the
 * leader the service names at once; and it never adopts an epoch the service did not issue.
 * Recovery after a promotion is the embedded one (survivors re-join and are fetched from).
 */
export class Coordination implements CoordinatedMember, CoordinationView {
  #leader: Leader | undefined
  /** Sequencing held because leadership could not be proved; released when it can again. */
  #held = false
  #joining = false
  /** The leader being joined now, and how to stop waiting on it when the service names another. */
  #target: Leader | undefined
  #abort: AbortController | undefined

  constructor(
    readonly node: NodeContext,
    readonly coordinator: Coordinator,
  ) {}

  get id() {
    return this.node.id
  }

  get logger() {
    return this.node.logger
  }

  get addresses(): EndpointAddresses {
    const a = this.node.addresses
    if (!a) throw new Error('coordination: a coordinated endpoint binds addresses (checked at start)')
    return a
  }

  /**
   * Starts in limbo (nobody serves as root before the service says who) and returns once this
   * endpoint leads or has joined the leader, or rejects after joinTimeoutMs saying why.
   */
  async start(): Promise<void> {
    const node = this.node
    node.succession.stepDown()
    await this.coordinator.start(this)
    const deadline = node.clock.now() + node.opts.joinTimeoutMs
    while (node.succession.inLimbo && !node.closed) {
      if (node.clock.now() > deadline) {
        const leader = this.#leader
        throw new JoinTimeoutError(leader ? leader.addresses.inbound : this.coordinator.name, node.opts.joinTimeoutMs)
      }
      await sleep(node.clock, 20)
    }
  }

  get adoptsDocuments(): boolean {
    return this.coordinator.adoptsDocuments === true
  }

  issued(epoch: number): boolean {
    return epoch <= this.coordinator.issuedEpoch
  }

  /** Whether this root may acknowledge (sequence, publish confirmations) now. */
  mayConfirm(): boolean {
    if (!this.node.succession.isRoot || this.coordinator.mayConfirm()) return true
    // A sequencer that asked now pauses itself (Sequencer #flush): the tick resumes it.
    this.#refused = true
    return false
  }

  #refused = false
  /** When this member's leadership last lapsed (until it leads again): its children from before are stale. */
  #lapsedAt: number | undefined

  lead(epoch: number, handover?: Leader): void {
    const node = this.node
    if (node.closed) return
    this.#leader = { id: node.id, epoch, addresses: this.addresses }
    // A join still waiting on the leader we followed stops now: left running, it held a parent
    // link while we led, and our own changes went up that link instead of to our sequencer.
    this.#abort?.abort()
    const s = node.succession
    if (s.isRoot && s.epoch === epoch) return
    // Root before (sequencing, or stepped down and not yet following anyone): see below.
    const wasRoot = s.isRoot || (s.inLimbo && node.parent === undefined && node.children.size > 0)
    if (s.isRoot) s.stepDown()
    // The roster from the old root (our siblings) is who may come back with fragments we lack.
    const order = s.inLimbo ? successionOrder([...s.siblings, ...s.previousSiblings], s.deadParents) : s.parentLost(node.parent?.parentId)
    // A leader that handed over (alive) holds every document of the tree, some perhaps nowhere
    // else (stored ones nobody had open): recovery waits for it however long it takes to re-join
    // (until the coordinator says it is gone, see handoverGone), so no open of its documents is
    // answered from an opener's `initial` meanwhile.
    const required = handover && handover.id !== node.id ? [handover.id] : []
    if (handover && handover.id !== node.id && !order.some((p) => p.id === handover.id))
      order.push({ id: handover.id, addresses: handover.addresses, joinOrder: Number.MAX_SAFE_INTEGER, priority: Number.MIN_SAFE_INTEGER })
    // Listed as our child from an earlier turn of ours as root (the shard came back): what it
    // said then is stale, so only a hello from now on counts (a live child is told to re-join).
    if (handover && node.children.has(handover.id)) node.removeChild(handover.id, 'left')
    // The same for every child listed from an earlier turn of ours as root (our lease lapsed,
    // perhaps in a pause, and we are elected again): it may have followed another root since and
    // hold what that root confirmed, and a root woken from a pause reads the frames queued for it,
    // so such children look present for another peer timeout. Counted as back, they let recovery
    // end at once without fetching, and were then served our older history (sharded chaos seed
    // 105). Each is told to re-join; recovery waits for it and fetches what it holds.
    // Removed once root (see becomeRoot): before, removing a document's last child would drop it.
    // A root that lapsed and began to follow the next leader before being elected again is not
    // "root" any more, yet its children from then are just as stale: every child whose last hello
    // came before our lapse (sharded chaos seed 121: woken, it lapsed, started joining the next
    // root, was elected again, and ended recovery at once on its old children).
    const lapsedAt = this.#lapsedAt
    this.#lapsedAt = undefined
    const stale = [...node.children.values()].filter((c) => c.id !== handover?.id && (wasRoot || (lapsedAt !== undefined && c.helloAt <= lapsedAt))).map((c) => c.id)
    // Elected knowing nobody who may come back: a root that stepped down with no children, or a
    // member that never followed the last root. That root's tree may live on in members we never
    // heard of (its clients, following the leader key, re-join us within moments): recovery then
    // waits its whole window for them, instead of ending at once with nobody to wait for and
    // answering them, ahead of us, with snapshots of our older history (the changes the last root
    // confirmed were lost: sharded chaos seed 101). Not for a fresh process's first election
    // (its first epoch, no document held): the tree's first root, or a restart, as before.
    // Our own id in the order (a roster from a parent we once had lists us) is nobody to wait for:
    // counted, a root re-elected after a turn of its own ended recovery at once (seed 104).
    const blind = !order.some((p) => p.id !== node.id) && required.length === 0 && (s.epoch > 1 || node.replicas.size > 0)
    void node.detachParent()
    this.#held = false
    this.#waitWarnedAt = node.clock.now()
    node.logger.warn({ epoch, coordinator: this.coordinator.name, handover: handover?.id }, 'elected root by the coordinator')
    try {
      becomeRoot(node, order, epoch, required, blind, stale)
    } catch (error) {
      node.logger.error({ err: error, epoch }, 'could not take the root role the coordinator gave')
    }
  }

  follow(leader: Leader): void {
    const node = this.node
    if (node.closed || leader.id === node.id) return
    // A join still waiting on the leader this one replaced (likely dead) stops now.
    if (this.#target && this.#target.id !== leader.id) this.#abort?.abort()
    this.#leader = leader
    if (node.succession.isRoot) {
      // Someone else leads now: nothing more is acknowledged here; what we hold goes to them.
      node.replicas.hold()
      node.succession.stepDown()
      node.logger.warn({ leader: leader.id, epoch: leader.epoch }, 'the coordinator elected another root; re-joining it as a client')
    }
    void this.#joinLeader()
  }

  lapsed(why: string): void {
    const node = this.node
    if (node.closed || !node.succession.isRoot) return
    node.replicas.hold()
    node.succession.stepDown()
    this.#lapsedAt = node.clock.now()
    node.stats.leaseLapses++
    node.logger.warn({ why, epoch: node.succession.epoch }, 'leadership lapsed: acknowledging nothing, stepping down until the coordinator names a root')
    node.updateRole()
  }

  async prepareHandover(owns: (doc: string) => boolean): Promise<void> {
    const node = this.node
    const storage = node.opts.storage
    if (!storage || !node.succession.isRoot) return
    let loaded = 0
    for (const doc of await storage.documents()) {
      if (!owns(doc) || node.replicas.get(doc) || !node.succession.isRoot) continue
      try {
        await node.replicas.openAtRoot(doc, {}, false)
        loaded++
      } catch (error) {
        // One that cannot be loaded (its latest copy is in another host's store, see
        // Coordinator.checkDocument; or a damaged one) stays where it is; the others go over.
        node.logger.warn({ doc, reason: (error as Error).message }, 'a stored document is not handed over')
      }
    }
    if (loaded > 0) node.logger.info({ loaded }, 'loaded the stored documents not in memory, for the next root to recover them from us')
  }

  /**
   * The root that handed over to us is gone for good (its host died or left before re-joining
   * us): recovery stops waiting for it and ends as after a failover, from the other survivors.
   */
  handoverGone(id: EndpointId, why: string): void {
    const node = this.node
    if (node.closed || !node.succession.release(id)) return
    node.logger.warn({ previous: id, why }, 'the previous root is gone before it handed its documents over; recovering from the other survivors')
    node.maybeEndRecovery()
  }

  parentSilent(why: string): void {
    this.node.logger.warn({ why, leader: this.#leader?.id }, 'the parent is silent; re-joining the root the coordinator names')
    void this.#joinLeader()
  }

  /** Every tick: a root whose leadership could not be proved holds; it resumes once it can. */
  tick(): void {
    const node = this.node
    if (!node.succession.isRoot) return
    if (node.succession.recovering) this.#awaitHandover()
    const may = this.coordinator.mayConfirm()
    if (!may && !this.#held) {
      this.#held = true
      node.replicas.hold()
      node.logger.warn({ epoch: node.succession.epoch }, 'the coordinator lease is not certainly valid: acknowledging nothing until it is renewed')
    } else if (may && (this.#held || this.#refused) && node.succession.state === 'settled') {
      this.#held = false
      this.#refused = false
      node.replicas.release()
    }
  }

  #waitWarnedAt = 0

  /**
   * While recovery waits for the root that handed over: every peer timeout, asks it again for
   * what it has not answered yet (a lost request must not stall the shard for good), and says
   * in the log what waits and on whom.
   */
  #awaitHandover(): void {
    const node = this.node
    const now = node.clock.now()
    if (now - this.#waitWarnedAt < node.opts.peerTimeoutMs * 2) return
    this.#waitWarnedAt = now
    for (const id of node.succession.requiredSurvivors) {
      const child = node.children.get(id)
      const pending = new Set(node.succession.pendingFrom(id))
      if (child && pending.size > 0) {
        const heads = (child.heads ?? []).filter((h) => pending.has(h.doc))
        adoptFromSurvivor(node, id, heads)
        fetchFromSurvivor(
          node,
          id,
          heads.filter((h) => !node.succession.isAdopting(h.doc)),
        )
      }
      node.logger.warn(
        { previous: id, rejoined: child !== undefined, unanswered: pending.size },
        'still waiting for the root that handed this tree over to re-join and pass its documents on: opens and changes wait meanwhile (check that the hosts reach each other)',
      )
    }
  }

  /** Joins the current leader until welcomed, or until another leader is named. */
  async #joinLeader(): Promise<void> {
    if (this.#joining) return
    this.#joining = true
    const node = this.node
    try {
      for (;;) {
        const leader = this.#leader
        if (node.closed || !leader || leader.id === node.id || node.succession.isRoot) return
        const link = node.parent
        if (link?.welcomed && link.parentId === leader.id && link.silentFor(node.clock.now()) < node.opts.peerTimeoutMs) return
        this.#target = leader
        this.#abort = new AbortController()
        try {
          await node.join(leader.addresses, node.opts.peerTimeoutMs * 2, leader.id, this.#abort.signal)
          node.parentBack()
          node.updateRole()
          if (this.#leader === leader) return
        } catch (error) {
          node.logger.info({ leader: leader.id, reason: (error as Error).message }, 'joining the leader failed; trying again')
          // Replaced while we waited on it: join the new one at once.
          if (this.#leader === leader) await sleep(node.clock, node.opts.heartbeatMs)
        }
      }
    } finally {
      this.#joining = false
      this.#target = undefined
      this.#abort = undefined
    }
  }
}
