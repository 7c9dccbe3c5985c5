import type { DocId, EndpointId } from '../ids.js'
import type { Access } from '../protocol/payloads.js'

/** The root's word on one endpoint opening and reading one document, as a relay acts on it. */
export type AccessDecision = { allowed: true } | { allowed: false; code: string; reason: string }

/** Who waits on a question to the root: the open of a direct child, a relay child that asked us, or a reader's periodic check. */
export type AccessWaiter = 'open' | 'relay' | 'recheck'

/** Decisions kept per relay; past it the oldest go (they are asked again when needed). */
export const MAX_ACCESS_ENTRIES = 10_000
/** Questions in flight per relay; past it an open is answered `ERR_UNAVAILABLE` (the opener retries). */
export const MAX_ACCESS_PENDING = 10_000

interface Entry {
  decision: AccessDecision
  until: number
}

interface Pending {
  subject: EndpointId
  doc: DocId
  /** When the question was first asked (the opener gets ERR_UNAVAILABLE when no answer comes). */
  since: number
  /** When it was last sent up (it is sent again when unanswered). */
  askedAt: number
  waiters: Map<AccessWaiter, (decision: AccessDecision) => void>
  /** Not sent yet: waits for the answer in flight, which may say "everyone" (see `wait`). */
  held: boolean
}

/**
 * A relay's memory of the root's `authorize` decisions (see root-access.ts): each for as long
 * as the root said (`ttlMs`, the root's `accessCacheMs`), at most {@link MAX_ACCESS_ENTRIES} of
 * them, and the questions still in flight. A refusal is kept as a refusal: nothing here can turn
 * it into an allowance; only the root's next answer can.
 */
export class AccessCache {
  readonly #entries = new Map<string, Entry>()
  readonly #pending = new Map<string, Pending>()
  /** Until when the root said it has no authorize hook (everyone may open everything). */
  #everyoneUntil = -Infinity
  /** Whether the root's last answer was per endpoint (it has an authorize hook); undefined before any. */
  #perEndpoint: boolean | undefined
  /** The ttl of the root's last answer that came with one: its `accessCacheMs`, the pace of a relay's checks of its readers. */
  rootTtlMs: number | undefined

  /** The decision still in force for `subject` on `doc`, if any. */
  cached(subject: EndpointId, doc: DocId, now: number): { decision: AccessDecision; until: number; everyone?: boolean } | undefined {
    if (now < this.#everyoneUntil) return { decision: { allowed: true }, until: this.#everyoneUntil, everyone: true }
    const key = keyOf(subject, doc)
    const entry = this.#entries.get(key)
    if (!entry) return undefined
    if (entry.until > now) return entry
    this.#entries.delete(key)
    return undefined
  }

  /**
   * Waits for the root's answer on `subject`/`doc`. True when the question must be sent up (none
   * in flight), false when it is already on its way; undefined when too many are in flight.
   */
  wait(subject: EndpointId, doc: DocId, who: AccessWaiter, then: (decision: AccessDecision) => void, now: number): boolean | undefined {
    const key = keyOf(subject, doc)
    const pending = this.#pending.get(key)
    if (pending) {
      // The same opener asking again (its OPEN is resent until served) replaces its waiter.
      pending.waiters.set(who, then)
      return false
    }
    if (this.#pending.size >= MAX_ACCESS_PENDING) return undefined
    // A crowd opening at once: while a question is in flight and the root may well answer
    // "everyone" (it has no authorize hook, as far as we know), the others wait for that answer
    // instead of each asking (10 relays × 1,000 tabs asked the root 4,028 times).
    const held = this.#perEndpoint !== true && this.#pending.size > 0
    this.#pending.set(key, { subject, doc, since: now, askedAt: now, waiters: new Map([[who, then]]), held })
    return !held
  }

  /** Questions held back while the root's first answer was in flight, now to be sent (it decides per endpoint). */
  release(now: number): Pending[] {
    if (this.#perEndpoint !== true) return []
    const out: Pending[] = []
    for (const p of this.#pending.values()) {
      if (!p.held) continue
      p.held = false
      p.askedAt = now
      out.push(p)
    }
    return out
  }

  /** The root's answer: kept for its ttl, and the waiters it settles (to be called). */
  answer(subject: EndpointId, doc: DocId, access: Access, now: number): Array<() => void> {
    const decision: AccessDecision = access.allowed ? { allowed: true } : { allowed: false, code: access.code || 'ERR_ACCESS_DENIED', reason: access.reason }
    const until = now + access.ttlMs
    if (access.ttlMs > 0) this.rootTtlMs = access.ttlMs
    this.#perEndpoint = !(access.allowed && access.everyone)
    if (access.allowed && access.everyone) {
      this.#everyoneUntil = until
      // Whatever else is waiting is settled by the same word.
      const all = [...this.#pending.values()].flatMap((p) => [...p.waiters.values()])
      this.#pending.clear()
      return all.map((w) => () => w(decision))
    }
    const key = keyOf(subject, doc)
    if (access.ttlMs > 0) {
      this.#entries.delete(key)
      this.#entries.set(key, { decision, until })
      if (this.#entries.size > MAX_ACCESS_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!)
    } else this.#entries.delete(key)
    const pending = this.#pending.get(key)
    this.#pending.delete(key)
    return [...(pending?.waiters.values() ?? [])].map((w) => () => w(decision))
  }

  /**
   * Questions unanswered for `resendMs` (to be asked again, their `askedAt` set to now), and
   * those unanswered for `giveUpMs` (taken out: their waiters are told the root did not answer).
   */
  due(now: number, resendMs: number, giveUpMs: number): { again: Pending[]; expired: Pending[] } {
    const again: Pending[] = []
    const expired: Pending[] = []
    for (const [key, p] of this.#pending) {
      if (now - p.since >= giveUpMs) {
        this.#pending.delete(key)
        expired.push(p)
      } else if (!p.held && now - p.askedAt >= resendMs) {
        p.askedAt = now
        again.push(p)
      }
    }
    // Decisions mostly expire in the order they were taken: drop the expired ones at the front.
    // Held questions wait for one in flight; with none left in flight (it expired), the oldest goes.
    const held = [...this.#pending.values()].filter((p) => p.held)
    if (held.length > 0 && held.length === this.#pending.size) {
      held[0]!.held = false
      held[0]!.askedAt = now
      again.push(held[0]!)
    }
    for (const [key, entry] of this.#entries) {
      if (entry.until > now) break
      this.#entries.delete(key)
    }
    return { again, expired }
  }

  /** Every question in flight, taken out (this endpoint became the root: it answers them itself). */
  takeAll(): Pending[] {
    const all = [...this.#pending.values()]
    this.#pending.clear()
    return all
  }

  get size(): number {
    return this.#entries.size
  }

  get inFlight(): number {
    return this.#pending.size
  }
}

function keyOf(subject: EndpointId, doc: DocId): string {
  return `${subject}\n${doc}`
}
