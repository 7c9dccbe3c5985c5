import type { EndpointId } from '../ids.js'
import type { Peer } from './roster.js'

/**
 * Where an endpoint stands in the succession (DESIGN.md, "Liveness and host promotion"):
 *
 *   settled ──parent lost──▶ limbo ──joined a parent──▶ settled
 *                              │
 *                              └──promoted──▶ recovering ──survivors back──▶ settled (root)
 *
 * A root that finds a tree that outranks its own steps down (settled → limbo) and joins it.
 * Only this class changes the epoch, the root flag and the state, and only through these
 * transitions; an illegal one throws (a bug, not bad input).
 */
export type SuccessionState = 'settled' | 'limbo' | 'recovering'

export class Succession {
  #state: SuccessionState = 'settled'
  #root: boolean
  #epoch = 1
  /**
   * The level's roster as the parent last published it: this endpoint and its siblings, those
   * that bind (can be promoted); leaves are not in it.
   */
  #siblings: Peer[] = []
  #siblingsVersion = -1
  /** The roster from before the last failover: a successor that dies must not shrink it. */
  #previous: Peer[] = []
  readonly #deadParents = new Set<EndpointId>()
  #expected = new Set<EndpointId>()
  #recoveringUntil = 0
  readonly #pendingFetches = new Set<string>()
  /**
   * Documents this root had not received yet when it was promoted (seeded from their opener's
   * initial state): recovery waits for a survivor's copy of each, or for the whole window.
   */
  #blank = new Set<string>()
  /**
   * Survivors recovery waits for however long they take (a root that handed its documents over
   * alive, see Coordination.lead): until each has re-joined and answered every fetch, or is
   * released (it is known gone). Never ended by the recovery window.
   */
  #required = new Set<EndpointId>()
  /**
   * Promoted knowing no survivor who may come back (see Coordination.lead): recovery waits its
   * whole window for whoever re-joins, and then for their fetches (until `#fetchesUntil`).
   */
  #blind = false
  #fetchesUntil = 0

  constructor(
    readonly self: EndpointId,
    root: boolean,
  ) {
    this.#root = root
  }

  get state(): SuccessionState {
    return this.#state
  }

  get epoch(): number {
    return this.#epoch
  }

  /** True at a root (started without a parent, or promoted); false in limbo. */
  get isRoot(): boolean {
    return this.#root && this.#state !== 'limbo'
  }

  get inLimbo(): boolean {
    return this.#state === 'limbo'
  }

  get recovering(): boolean {
    return this.#state === 'recovering'
  }

  get siblings(): readonly Peer[] {
    return this.#siblings
  }

  get previousSiblings(): readonly Peer[] {
    return this.#previous
  }

  get deadParents(): ReadonlySet<EndpointId> {
    return this.#deadParents
  }

  // ---- facts ---------------------------------------------------------------------------

  /** The parent's roster at `version`: the members of this level that can be promoted. */
  rosterFromParent(version: number, peers: Peer[]): void {
    this.#siblingsVersion = version
    this.#siblings = peers
  }

  get rosterVersion(): number {
    return this.#siblingsVersion
  }

  /** A new parent: its roster has not arrived yet. */
  forgetRosterVersion(): void {
    this.#siblingsVersion = -1
  }

  /** The join order this endpoint's former sibling had (a survivor keeps its place). */
  previousOrder(id: EndpointId): number | undefined {
    return (this.#siblings.find((p) => p.id === id) ?? this.#previous.find((p) => p.id === id))?.joinOrder
  }

  /**
   * A parent above shows a higher epoch: adopt it (a client follows its tree). Returns true
   * if the epoch changed. Epochs never go down.
   */
  adoptEpoch(epoch: number): boolean {
    if (epoch <= this.#epoch) return false
    this.#epoch = epoch
    return true
  }

  /** Restores the epoch a restarted endpoint remembers from its storage. */
  restoreEpoch(epoch: number): void {
    if (epoch > this.#epoch) this.#epoch = epoch
  }

  // ---- transitions -----------------------------------------------------------------------

  /**
   * settled → limbo: the parent is dead (silent, or its chain has no root). Returns the
   * succession order every survivor of the level computes the same way from the same facts.
   */
  parentLost(dead: EndpointId | undefined): Peer[] {
    this.#expect('settled', 'lose a parent')
    if (this.#root) throw new Error('succession: a root has no parent to lose')
    this.#state = 'limbo'
    if (dead) this.#deadParents.add(dead)
    const order = successionOrder([...this.#siblings, ...this.#previous], this.#deadParents)
    this.#previous = order
    return order
  }

  /**
   * settled → limbo for a root that found a tree outranking its own, or a start that must find
   * its tree; recovering → limbo for a root whose coordinator says its leadership is over.
   */
  stepDown(): void {
    if (this.#state !== 'recovering') this.#expect('settled', 'step down')
    this.#state = 'limbo'
    this.#root = false
  }

  /** limbo → settled: a parent welcomed this endpoint. */
  joined(): void {
    if (this.#state === 'settled' && !this.#root) return
    this.#expect('limbo', 'join')
    this.#state = 'settled'
    this.#root = false
  }

  /** limbo → settled as root, at the remembered epoch: nothing newer was found on restart. */
  resumeAsRoot(): void {
    this.#expect('limbo', 'resume as root')
    this.#root = true
    this.#state = 'settled'
  }

  /**
   * limbo → recovering: this endpoint takes the dead root's place at a higher epoch, and
   * waits (until `until`) for the survivors in `order` to re-join before sequencing.
   */
  promoted(order: readonly Peer[], until: number, blank: readonly string[] = [], seenEpoch = 0, issued?: number, required: readonly EndpointId[] = [], blind?: { fetchesUntil: number }): number {
    this.#expect('limbo', 'be promoted')
    // A coordinator's epoch is its fencing token: taken as issued, never one it did not issue.
    if (issued !== undefined && issued <= this.#epoch) throw new Error(`succession: epoch ${issued} issued by the coordinator is not above ${this.#epoch}`)
    this.#blank = new Set(blank)
    this.#root = true
    this.#state = 'recovering'
    this.#epoch = issued ?? Math.max(this.#epoch, seenEpoch) + 1
    this.#expected = new Set(order.map((p) => p.id).filter((id) => id !== this.self))
    this.#recoveringUntil = until
    this.#pendingFetches.clear()
    this.#laterBranches.clear()
    this.#adopting.clear()
    this.#required = new Set(required.filter((id) => id !== this.self))
    this.#blind = blind !== undefined
    this.#fetchesUntil = blind?.fetchesUntil ?? 0
    return this.#epoch
  }

  /** Survivors a recovering root still waits for. */
  get expectedSurvivors(): ReadonlySet<EndpointId> {
    return this.#expected
  }

  /** Survivors recovery waits for without a time limit (see #required). */
  get requiredSurvivors(): ReadonlySet<EndpointId> {
    return this.#required
  }

  /** A required survivor is gone for good (its host died or left): recovery stops waiting for it. */
  release(id: EndpointId): boolean {
    return this.#required.delete(id)
  }

  /** The documents whose fetch from `id` is still unanswered. */
  pendingFrom(id: EndpointId): string[] {
    const prefix = `${id}/`
    return [...this.#pendingFetches].filter((key) => key.startsWith(prefix)).map((key) => key.slice(prefix.length))
  }

  /** Whether the fetch `key` (`<survivor>/<doc>`) was asked and is still unanswered. */
  isFetching(key: string): boolean {
    return this.#pendingFetches.has(key)
  }

  fetchStarted(key: string): void {
    this.#pendingFetches.add(key)
  }

  fetchDone(key: string): void {
    this.#pendingFetches.delete(key)
    this.#blank.delete(key.slice(key.indexOf('/') + 1))
  }

  /**
   * Documents whose history this recovering root replaces by a survivor's later branch (see
   * later-branch.ts), and the survivor whose snapshot it waits for. One survivor per document.
   */
  readonly #laterBranches = new Map<string, EndpointId>()

  /** Documents this recovering root adopts from a survivor's snapshot (see adopt.ts). */
  readonly #adopting = new Set<string>()

  /** Starts adopting `doc`; false when it is being adopted already. */
  adopt(doc: string): boolean {
    if (this.#adopting.has(doc)) return false
    this.#adopting.add(doc)
    return true
  }

  /** Whether `doc` is being adopted (then a survivor's answer is its snapshot). */
  isAdopting(doc: string): boolean {
    return this.#adopting.has(doc)
  }

  /** Starts taking `doc`'s later branch from `survivor`; false when one is being taken already. */
  takeLaterBranch(doc: string, survivor: EndpointId): boolean {
    if (this.#state !== 'recovering' || this.#laterBranches.has(doc)) return false
    this.#laterBranches.set(doc, survivor)
    return true
  }

  /** The survivor whose later branch of `doc` is awaited, if any. */
  laterBranchOf(doc: string): EndpointId | undefined {
    return this.#laterBranches.get(doc)
  }

  tookLaterBranch(doc: string): void {
    this.#laterBranches.delete(doc)
  }

  /** Whether recovery may end now: every required survivor back and answered, and then everyone back and every fetch answered, or time is up. */
  recoveryDue(now: number, isBack: (id: EndpointId) => boolean): boolean {
    if (this.#state !== 'recovering') return false
    for (const id of this.#required) if (!isBack(id) || this.pendingFrom(id).length > 0) return false
    // Nobody known to wait for: the window is all there is, then the fetches it started.
    if (this.#blind) return now >= this.#fetchesUntil || (now >= this.#recoveringUntil && this.#pendingFetches.size === 0 && this.#blank.size === 0)
    const everyoneBack = [...this.#expected].every(isBack)
    return (everyoneBack && this.#pendingFetches.size === 0 && this.#blank.size === 0) || now >= this.#recoveringUntil
  }

  /** recovering → settled. */
  recovered(): void {
    this.#expect('recovering', 'end recovery')
    this.#state = 'settled'
    this.#pendingFetches.clear()
    this.#laterBranches.clear()
    this.#adopting.clear()
    this.#blank.clear()
    this.#required.clear()
    this.#blind = false
    this.#recoveringUntil = 0
  }

  #expect(state: SuccessionState, what: string): void {
    if (this.#state !== state) throw new Error(`succession: cannot ${what} while ${this.#state}`)
  }
}

/**
 * The succession order: highest priority first, then earliest join, then smallest id, among
 * endpoints that bound addresses and are not known dead. A pure function of the roster, so
 * survivors holding the same roster agree.
 */
export function successionOrder(roster: readonly Peer[], dead: ReadonlySet<EndpointId>): Peer[] {
  const unique = new Map<EndpointId, Peer>()
  for (const p of roster) if (!unique.has(p.id)) unique.set(p.id, p)
  return [...unique.values()].filter((p) => p.addresses !== undefined && !dead.has(p.id)).sort((a, b) => b.priority - a.priority || a.joinOrder - b.joinOrder || (a.id < b.id ? -1 : 1))
}

/**
 * Whether a tree whose root is `heard` outranks this root's: a higher epoch, or the same
 * epoch under a root with a smaller id. Exactly one of two roots outranks the other, so a
 * split heals by the loser joining the winner.
 */
export function outranks(heard: { epoch: number; root: string }, self: { epoch: number; id: string }): boolean {
  if (heard.root === self.id) return false
  return heard.epoch > self.epoch || (heard.epoch === self.epoch && heard.root < self.id)
}
