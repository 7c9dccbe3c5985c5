import type { FaultOptions } from './faults.js'
import { NetworkCore } from './network-core.js'
import type { InprocStats } from './stats.js'

/** Options of an `InprocNetwork`. */
export interface InprocNetworkOptions {
  /** Seed of every fault decision (default 0x5eed), so a failing run can be replayed. */
  seed?: number
  /** Faults active from the start; see `network.faults()`. */
  faults?: FaultOptions
}

const cores = new WeakMap<InprocNetwork, NetworkCore>()

/** @internal The state behind a network, for `InprocTransport`. Not exported from the package. */
export function coreOf(network: InprocNetwork): NetworkCore {
  const core = cores.get(network)
  if (!core) throw new TypeError('Not an InprocNetwork')
  return core
}

/**
 * One simulated LAN: the registry of `inproc://` addresses shared by every `InprocTransport`
 * created on it, plus deterministic fault injection.
 *
 * Each transport is one node (a simulated machine). Faults, partitions and kills act on links
 * between nodes; every decision comes from a PRNG seeded by `seed`, one stream per link, so the
 * same seed and the same sequence of operations give the same faults.
 */
export class InprocNetwork {
  private counter = 0
  private nodeCounter = 0

  constructor(options: InprocNetworkOptions = {}) {
    const core = new NetworkCore(options.seed ?? 0x5eed)
    cores.set(this, core)
    if (options.faults) core.setFaults(options.faults)
  }

  /** The seed of fault decisions when `faults()` is given none. */
  get seed(): number {
    return coreOf(this).seed
  }

  /** An address nothing on this network holds yet: `inproc://<prefix>-<n>`. */
  uniqueAddress(prefix = 'zinc'): string {
    let address: string
    do address = `inproc://${prefix}-${++this.counter}`
    while (coreOf(this).isBound(address))
    return address
  }

  /** A node name nobody asked for yet: `node-<n>`. Used when a transport is given none. */
  uniqueNode(): string {
    return `node-${++this.nodeCounter}`
  }

  /**
   * Replaces the active random faults (`null` removes them). They apply to messages sent from
   * now on; a message already on a link keeps its fate.
   */
  faults(options: FaultOptions | null): void {
    coreOf(this).setFaults(options)
  }

  /**
   * Cuts every link between a node of `nodesA` and a node of `nodesB`, both directions, every
   * pattern: messages vanish silently (connections stay up, as in a real partition) until `heal()`.
   * `{ oneWay: true }`: only messages from `nodesA` to `nodesB` vanish (an asymmetric fault: B
   * still reaches A, and never hears back).
   */
  partition(nodesA: readonly string[], nodesB: readonly string[], options?: { oneWay?: boolean }): void {
    coreOf(this).partition(nodesA, nodesB, options?.oneWay === true)
  }

  /** Removes every partition. Messages lost meanwhile stay lost. */
  heal(): void {
    coreOf(this).heal()
  }

  /**
   * Kills a node as SIGKILL would: its channels stop delivering and receiving, silently and for
   * good (reads stay pending until closed, sends resolve and vanish), and what its links held is
   * lost. Its bound addresses are released, as a dead process frees its ports, so a successor
   * may bind them; peers connected to them re-attach to whatever binds there next. Channels the
   * node opens later are dead from the start.
   */
  kill(node: string): void {
    coreOf(this).kill(node)
  }

  /** Whether `kill(node)` was called. */
  isKilled(node: string): boolean {
    return coreOf(this).isKilled(node)
  }

  /** A snapshot of the counters. */
  stats(): InprocStats {
    return { ...coreOf(this).counters }
  }
}
