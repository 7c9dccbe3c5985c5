import { InvalidArgumentError } from '@zinc/core'
import { deriveSeed, mulberry32, type Random } from './prng.js'

/**
 * Random faults applied to messages as they enter a link (one connection between two
 * channels). Probabilities are in [0, 1].
 */
export interface FaultOptions {
  /** Seed of the decisions; the same seed and operations give the same faults. Default: the network's seed. */
  seed?: number
  /** Probability that a message silently vanishes. */
  drop?: number
  /**
   * Probability that a message arrives twice (back to back). ZeroMQ itself never duplicates;
   * Zinc must survive it anyway (a resend after a failover looks the same), so it is simulated.
   */
  duplicate?: number
  /**
   * Probability that a message is held back up to `maxMs`. Order within one connection is kept
   * (later messages wait behind a delayed one, as on one TCP stream), so delays only reorder
   * messages of different connections — the only reordering ZeroMQ allows.
   */
  delay?: { probability: number; maxMs: number }
  /**
   * Restricts the faults to links between the two groups of nodes (either direction).
   * Omitted: every link, including links within one node.
   */
  between?: readonly [readonly string[], readonly string[]]
}

/** What happens to one message. */
export interface FaultDecision {
  drop: boolean
  duplicate: boolean
  /** 0 = not delayed. */
  delayMs: number
}

const NO_FAULT: FaultDecision = { drop: false, duplicate: false, delayMs: 0 }

/** The active fault rule of a network and one PRNG stream per link. */
export class FaultPlan {
  private readonly streams = new Map<string, Random>()
  private readonly sides: readonly [ReadonlySet<string>, ReadonlySet<string>] | undefined

  constructor(
    private readonly options: FaultOptions,
    private readonly seed: number,
  ) {
    for (const [name, p] of [
      ['drop', options.drop],
      ['duplicate', options.duplicate],
      ['delay.probability', options.delay?.probability],
    ] as const) {
      if (p !== undefined && !(p >= 0 && p <= 1)) {
        throw new InvalidArgumentError(`Fault probability ${name} must be between 0 and 1, got ${p}.`)
      }
    }
    if (options.delay && !(options.delay.maxMs >= 0)) {
      throw new InvalidArgumentError(`delay.maxMs must be >= 0, got ${options.delay.maxMs}.`)
    }
    this.sides = options.between && [new Set(options.between[0]), new Set(options.between[1])]
  }

  /** Decides the fate of the next message on the link `key` between `from` and `to`. */
  decide(key: string, from: string, to: string): FaultDecision {
    if (!this.applies(from, to)) return NO_FAULT
    let random = this.streams.get(key)
    if (!random) {
      random = mulberry32(deriveSeed(this.seed, key))
      this.streams.set(key, random)
    }
    // Always draw the same number of values so one decision never shifts the next ones.
    const [a, b, c, d] = [random(), random(), random(), random()]
    const delay = this.options.delay
    return {
      drop: a < (this.options.drop ?? 0),
      duplicate: b < (this.options.duplicate ?? 0),
      delayMs: delay && c < delay.probability ? 1 + Math.floor(d * delay.maxMs) : 0,
    }
  }

  private applies(from: string, to: string): boolean {
    if (!this.sides) return true
    const [a, b] = this.sides
    return (a.has(from) && b.has(to)) || (b.has(from) && a.has(to))
  }
}
