import { AddressInUseError, AddressNotFoundError, ConnectError } from '@zinc/core'
import { checkInprocAddress } from './address.js'
import { FaultPlan, type FaultDecision, type FaultOptions } from './faults.js'
import { emptyStats, type InprocStats } from './stats.js'
import type { BoundChannel, Connector, NetworkCoreApi, NodeChannel } from './wiring.js'

const NO_FAULT: FaultDecision = { drop: false, duplicate: false, delayMs: 0 }
const PEER_KIND = { push: 'pull', sub: 'pub' } as const

/**
 * The state behind an `InprocNetwork`: the address registry, connectors waiting for a rebind,
 * live channels per node, partitions, killed nodes, faults and counters.
 */
export class NetworkCore implements NetworkCoreApi {
  readonly counters: InprocStats = emptyStats()
  private readonly bound = new Map<string, BoundChannel>()
  private readonly parked = new Map<string, Set<Connector>>()
  private readonly channels = new Map<string, Set<NodeChannel>>()
  private readonly killed = new Set<string>()
  /** [from, to, both directions]. */
  private partitions: Array<readonly [ReadonlySet<string>, ReadonlySet<string>, boolean]> = []
  private plan: FaultPlan | undefined
  private serial = 0

  constructor(readonly seed: number) {}

  isBound(address: string): boolean {
    return this.bound.has(address)
  }

  setFaults(options: FaultOptions | null): void {
    this.plan = options ? new FaultPlan(options, options.seed ?? this.seed) : undefined
  }

  partition(a: readonly string[], b: readonly string[], oneWay = false): void {
    this.partitions.push([new Set(a), new Set(b), !oneWay])
  }

  heal(): void {
    this.partitions = []
  }

  isKilled(node: string): boolean {
    return this.killed.has(node)
  }

  kill(node: string): void {
    if (this.killed.has(node)) return
    this.killed.add(node)
    for (const channel of [...(this.channels.get(node) ?? [])]) channel.kill()
  }

  /** A network-wide serial number for a new channel: stable for a given sequence of operations. */
  nextId(): number {
    return ++this.serial
  }

  /** Tracks a live channel under its node, so `kill` can reach it. */
  register(channel: NodeChannel): void {
    const node = channel.host.node
    let set = this.channels.get(node)
    if (!set) this.channels.set(node, (set = new Set()))
    set.add(channel)
  }

  forget(channel: NodeChannel): void {
    this.channels.get(channel.host.node)?.delete(channel)
  }

  decide(key: string, from: string, to: string): FaultDecision {
    return this.plan ? this.plan.decide(key, from, to) : NO_FAULT
  }

  severed(from: string, to: string): boolean {
    if (this.killed.has(from) || this.killed.has(to)) return true
    return this.partitions.some(([a, b, both]) => (a.has(from) && b.has(to)) || (both && b.has(from) && a.has(to)))
  }

  bind(channel: BoundChannel): void {
    checkInprocAddress(channel.address)
    if (this.bound.has(channel.address)) throw new AddressInUseError(channel.address)
    this.bound.set(channel.address, channel)
    const waiting = this.parked.get(channel.address)
    if (!waiting) return
    for (const connector of [...waiting]) {
      if (PEER_KIND[connector.kind] !== channel.kind) continue
      waiting.delete(connector)
      channel.accept(connector)
    }
    if (waiting.size === 0) this.parked.delete(channel.address)
  }

  unbind(channel: BoundChannel): void {
    if (this.bound.get(channel.address) === channel) this.bound.delete(channel.address)
  }

  connect(connector: Connector): void {
    const address = checkInprocAddress(connector.address)
    const target = this.bound.get(address)
    if (!target) throw new AddressNotFoundError(address)
    const expected = PEER_KIND[connector.kind]
    if (target.kind !== expected) {
      throw new ConnectError(address, `a ${connector.kind.toUpperCase()} needs a ${expected.toUpperCase()} there, but a ${target.kind.toUpperCase()} is bound`)
    }
    target.accept(connector)
  }

  park(connector: Connector): void {
    if (connector.closed || connector.dead || this.killed.has(connector.host.node)) return
    let set = this.parked.get(connector.address)
    if (!set) this.parked.set(connector.address, (set = new Set()))
    set.add(connector)
  }

  unpark(connector: Connector): void {
    const set = this.parked.get(connector.address)
    if (!set) return
    set.delete(connector)
    if (set.size === 0) this.parked.delete(connector.address)
  }
}
