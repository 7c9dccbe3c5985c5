/**
 * The seeded nemesis. Each fault hits one member, chosen by its role at that moment, and is
 * healed later on its own (overlapping the next faults):
 *   kill-root   SIGKILL the current root; restart it in place after 0.5–2 × peerTimeoutMs
 *   pause-root  SIGSTOP the current root for 2–3 × peerTimeoutMs, then SIGCONT it
 *   kill-relay  SIGKILL a relay; restart it in place after 0.5–2 × peerTimeoutMs
 *   kill-leaf   SIGKILL a leaf (a writer); restart it in place after 0.5–2 × peerTimeoutMs
 * Faults come 1–2 × peerTimeoutMs apart; at most two members are down (dead or paused) at once.
 * The choices and the delays follow from the seed; the targets follow from the roles the
 * members reported, which depend on timing, so a replay repeats the plan, not every interleaving.
 */
import type { MemberProcess } from './member-process.js'
import { Random } from './random.js'

export const FAULT_KINDS = ['kill-root', 'pause-root', 'kill-relay', 'kill-leaf'] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

export interface Fault {
  index: number
  kind: FaultKind
  /** The member hit, and the role it had then (undefined: nobody fit, the fault was skipped). */
  target?: string
  targetRole?: string
  targetEpoch?: number
  /** ms since the run started. */
  at: number
  /** When it was healed (restarted or continued), ms since the run started. */
  healedAt?: number
  /** ms until the heal, as planned from the seed. */
  healAfterMs: number
  note?: string
}

export interface NemesisOptions {
  seed: number
  faults: number
  kinds: readonly FaultKind[]
  peerTimeoutMs: number
  maxDown: number
  /** Waits this long for a restarted member to open its document before counting it healed anyway. */
  restartTimeoutMs: number
}

/** What the nemesis needs of a cluster: its members, and who holds which role now (Cluster, ShardedCluster). */
export interface Targets {
  readonly members: MemberProcess[]
  /** Running members that last said they are root, newest epoch first. */
  roots(): MemberProcess[]
  withRole(role: string): MemberProcess[]
  roleOf(m: MemberProcess): { role: string; epoch: number } | undefined
  /** Waits until `m`'s current incarnation is up again (rejects after `timeoutMs`). */
  opened(m: MemberProcess, timeoutMs: number): Promise<void>
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export class Nemesis {
  readonly faults: Fault[] = []
  readonly #heals = new Set<Promise<void>>()
  readonly #random: Random
  readonly #t0: number

  constructor(
    readonly cluster: Targets,
    readonly options: NemesisOptions,
    t0: number,
  ) {
    this.#random = new Random(options.seed)
    this.#t0 = t0
  }

  get #now(): number {
    return Date.now() - this.#t0
  }

  #down(): number {
    return this.cluster.members.filter((m) => m.state !== 'running').length
  }

  /** Runs every fault of the plan, one after the other; heals keep running in the background. */
  async run(): Promise<void> {
    const { peerTimeoutMs, kinds } = this.options
    const weights = Object.fromEntries(kinds.map((k) => [k, 1])) as Record<FaultKind, number>
    for (let index = 0; index < this.options.faults; index++) {
      const kind = this.#random.weighted(weights)
      const healAfterMs = kind === 'pause-root' ? this.#random.between(2, 3) * peerTimeoutMs : this.#random.between(0.5, 2) * peerTimeoutMs
      const gapMs = this.#random.between(1, 2) * peerTimeoutMs
      const pick = this.#random.next()
      while (this.#down() >= this.options.maxDown && this.#heals.size > 0) await Promise.race(this.#heals)
      const fault: Fault = { index, kind, at: this.#now, healAfterMs: Math.round(healAfterMs) }
      this.faults.push(fault)
      const target = await this.#target(kind, pick)
      if (!target) fault.note = `no member fit ${kind}; skipped`
      else await this.#inject(fault, target)
      await sleep(gapMs)
    }
  }

  /** After the last fault: every pending heal happens, then every member still paused is continued and every dead one restarted. */
  async healAll(): Promise<void> {
    await this.healed()
    for (const m of this.cluster.members) if (m.state === 'paused') m.resume()
    for (const m of this.cluster.members) if (m.state === 'dead') m.start()
  }

  /** Resolves once every heal has happened. */
  async healed(): Promise<void> {
    while (this.#heals.size > 0) await Promise.all([...this.#heals])
  }

  async #target(kind: FaultKind, pick: number): Promise<MemberProcess | undefined> {
    const choose = (ms: MemberProcess[]) => (ms.length === 0 ? undefined : ms[Math.floor(pick * ms.length)])
    if (kind === 'kill-root' || kind === 'pause-root') {
      // In the middle of a failover nobody may be root yet: give the tree a moment.
      for (let waited = 0; waited < this.options.peerTimeoutMs * 2; waited += 100) {
        const root = this.cluster.roots()[0]
        if (root) return root
        await sleep(100)
      }
      return undefined
    }
    const role = kind === 'kill-relay' ? 'relay' : 'client'
    return choose(this.cluster.withRole(role)) ?? choose(this.cluster.members.filter((m) => m.state === 'running' && this.cluster.roleOf(m)?.role !== 'host'))
  }

  async #inject(fault: Fault, target: MemberProcess): Promise<void> {
    const role = this.cluster.roleOf(target)
    fault.target = target.name
    fault.targetRole = role?.role
    fault.targetEpoch = role?.epoch
    fault.at = this.#now
    if (fault.kind === 'pause-root') {
      target.pause()
      this.#heal(fault, async () => target.resume())
    } else {
      await target.kill()
      this.#heal(fault, async () => {
        target.start()
        await this.cluster.opened(target, this.options.restartTimeoutMs).catch(() => {
          fault.note = `restarted, but it did not open the document within ${this.options.restartTimeoutMs} ms`
        })
      })
    }
  }

  #heal(fault: Fault, action: () => Promise<void>): void {
    const heal = (async () => {
      await sleep(fault.healAfterMs)
      fault.healedAt = this.#now
      await action()
    })()
    this.#heals.add(heal)
    void heal.finally(() => this.#heals.delete(heal))
  }
}
