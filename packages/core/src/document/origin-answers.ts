import type { EndpointId } from '../ids.js'
import { encodeMessage } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import { RefusalCodec } from '../protocol/payloads.js'
import { RejectionMemory } from './rejections.js'
import type { Replica } from './replica.js'
import { DIVERGED } from './placement.js'

/** The least time between two RESEND requests for the same gap of one origin. */
const RESEND_EVERY_MS = 500

/**
 * RESENDs of one gap, over at least this long, after which the gap is given up (see
 * `unfillable`): an origin that answers each with later changes only holds nothing there.
 */
const GIVE_UP_ASKS = 10
const GIVE_UP_MS = 5_000

/** Origins whose last RESEND is remembered; the oldest is forgotten beyond this. */
const ORIGINS = 4096

/**
 * What the root tells an origin about its changes besides sequencing them — refusals (and
 * remembering them), stale answers (rebase and send again), resend requests, answers to
 * duplicates — and the per-origin bookkeeping those need. The Sequencer's other half.
 */
export class OriginAnswers {
  /** Highest rejected clientSeq per origin; sequenced ones are in replica.clientSeqs (from the log). */
  readonly #rejectedUpTo = new Map<EndpointId, number>()
  readonly #rejections: RejectionMemory
  /**
   * Per origin, the lowest clientSeq sent back to be rebased (stale) and not resent since. A
   * later change of that origin accepted meanwhile (behind a validation) is sent back too, so
   * the origin's changes are sequenced in its order.
   */
  readonly #sentBack = new Map<EndpointId, number>()
  /** The last RESEND asked of each origin (see askResend): which gap, when, since when, how often. */
  readonly #resendAsked = new Map<EndpointId, { clientSeq: number; at: number; since: number; times: number }>()

  constructor(readonly replica: Replica) {
    // Whatever this root did not refuse itself, it cannot tell apart (a restart, a promotion).
    this.#rejections = new RejectionMemory(replica.clientSeqs)
  }

  /** The highest clientSeq of `origin` this root handled (sequenced or refused). */
  handled(origin: EndpointId): number {
    return Math.max(this.replica.clientSeqs.get(origin) ?? 0, this.#rejectedUpTo.get(origin) ?? 0)
  }

  /** Counts `clientSeq` of `origin` as handled (refused): a resend of it is answered, not taken. */
  markRejected(origin: EndpointId, clientSeq: number): void {
    if (clientSeq > (this.#rejectedUpTo.get(origin) ?? 0)) this.#rejectedUpTo.set(origin, clientSeq)
  }

  /**
   * A resent change this root has handled: its seq if the log has it, its refusal if that is
   * remembered, and a refusal saying so when this root cannot tell (it forgot, or it was not
   * the root then). Never a success it cannot vouch for.
   */
  answerDuplicate(origin: EndpointId, clientSeq: number): void {
    const r = this.replica
    const reason = this.#rejections.reason(origin, clientSeq)
    if (reason !== undefined) return this.#send(origin, clientSeq, 'ERR_CHANGE_REJECTED', reason)
    const seq = r.log.find(origin, clientSeq)
    if (seq !== undefined) return this.#reply(Kind.ACK, origin, clientSeq, seq)
    if (this.#rejections.mayHaveForgotten(origin, clientSeq)) {
      return this.#send(
        origin,
        clientSeq,
        'ERR_CHANGE_UNKNOWN',
        `the root no longer knows whether change ${clientSeq} was applied or refused (older than its memory); the document's state shows whether it is in`,
      )
    }
    // Sequenced (every refusal since this root's start is remembered), its log entry compacted.
    // Said in the log: an acknowledgement nothing in the log backs is the suspect of the one
    // confirmed change still lost in the sharded chaos run (docs/chaos.md, seed 155).
    r.io.logger.info({ doc: r.doc, origin, clientSeq, handled: this.handled(origin) }, 'a resent change acknowledged as sequenced earlier, though our log no longer holds it')
    this.#reply(Kind.ACK, origin, clientSeq, 0)
  }

  /** Refuses a change the sequencer looked at (marked handled: a resend is answered the same). */
  refuse(origin: EndpointId, clientSeq: number, reason: string): void {
    this.markRejected(origin, clientSeq)
    this.reject(origin, clientSeq, reason)
  }

  /** Not a refusal: the origin rebases the change and sends it again (PROTOCOL.md, Operations). */
  sendStale(origin: EndpointId, clientSeq: number, reason: string, minBase: number, base?: number): void {
    const r = this.replica
    r.io.stats.staleBases++
    this.#sentBack.set(origin, Math.min(clientSeq, this.#sentBack.get(origin) ?? Infinity))
    if (minBase === DIVERGED) return this.#send(origin, clientSeq, 'ERR_DIVERGED', reason, 0)
    this.#send(origin, clientSeq, 'ERR_STALE_BASE', reason, minBase, base)
  }

  reject(origin: EndpointId, clientSeq: number, reason: string): void {
    this.replica.io.stats.rejected++
    this.#rejections.remember(origin, clientSeq, reason)
    this.#send(origin, clientSeq, 'ERR_CHANGE_REJECTED', reason)
  }

  /**
   * A REJECT: `seq` carries the least base seq the root will take from this origin, and
   * `baseSeq` the highest clientSeq of this origin the root has refused.
   */
  #send(origin: EndpointId, clientSeq: number, code: string, reason: string, minBase = 0, base?: number): void {
    const r = this.replica
    const refusals = this.#rejections.lastRefused(origin)
    if (origin === r.io.self) {
      r.rejected(clientSeq, reason, code, minBase, refusals, base)
      return
    }
    // Counted like every refusal a peer is sent (PROTOCOL.md, "Refusals").
    r.io.stats.refusedByCode[code] = (r.io.stats.refusedByCode[code] ?? 0) + 1
    const payload = RefusalCodec.encode({ code, reason, ...(base !== undefined ? { answered: base + 1 } : {}) })
    r.io.sendTo(origin, encodeMessage({ kind: Kind.REJECT, origin: r.io.self, doc: r.doc, clientSeq, seq: minBase, baseSeq: refusals, epoch: r.io.epoch(), payload }))
  }

  /**
   * Asks `origin` to resend from `clientSeq`, at most once per RESEND_EVERY_MS for one gap. Every
   * fragment past a gap arrives out of order; answering each one made an origin with a hundred
   * changes in flight resend all of them a hundred times, and again for each of those: a storm
   * that never ends when the gap cannot be filled.
   */
  askResend(origin: EndpointId, clientSeq: number): void {
    const now = this.replica.io.now()
    const last = this.#resendAsked.get(origin)
    if (last && last.clientSeq === clientSeq && now - last.at < RESEND_EVERY_MS) return
    if (this.#resendAsked.size >= ORIGINS) this.#resendAsked.delete(this.#resendAsked.keys().next().value!)
    const again = last?.clientSeq === clientSeq
    this.#resendAsked.set(origin, { clientSeq, at: now, since: again ? last.since : now, times: again ? last.times + 1 : 1 })
    this.#reply(Kind.RESEND, origin, clientSeq, 0)
  }

  /**
   * Whether the gap of `origin` from `from` will never be filled: asked to resend from there
   * again and again (a RESEND makes it send its unanswered changes in order, from there), it
   * only ever sends later ones. It holds nothing there: those changes were settled on its side
   * by a root before this one (refused, or answered "unknown"), which this root cannot know.
   * Without this the origin's every later change waits behind the gap for good.
   */
  unfillable(origin: EndpointId, from: number): boolean {
    const last = this.#resendAsked.get(origin)
    return last !== undefined && last.clientSeq === from && last.times >= GIVE_UP_ASKS && this.replica.io.now() - last.since >= GIVE_UP_MS
  }

  /**
   * Gives the gap `from`..`to` of `origin` up: counted as handled and remembered as refused, so
   * a copy that still turns up is answered with a refusal, never taken after later changes
   * and never acknowledged.
   */
  skipGap(origin: EndpointId, from: number, to: number): void {
    const reason = `the root never received change ${from}${to > from ? `–${to}` : ''} (given up after asking for it ${GIVE_UP_ASKS} times); its later changes went on without it`
    for (let clientSeq = Math.max(from, to - 1023); clientSeq <= to; clientSeq++) this.#rejections.remember(origin, clientSeq, reason)
    this.markRejected(origin, to)
    this.#resendAsked.delete(origin)
  }

  #reply(kind: Kind, to: EndpointId, clientSeq: number, seq: number): void {
    const r = this.replica
    r.io.sendTo(to, encodeMessage({ kind, origin: r.io.self, doc: r.doc, clientSeq, seq, epoch: r.io.epoch() }))
  }

  /** The highest clientSeq of `origin` refused, as the origin is told with every answer. */
  lastRefused(origin: EndpointId): number {
    return this.#rejections.lastRefused(origin)
  }

  /**
   * The lowest clientSeq of `origin` sent back (stale) and not resent since, if any. One this
   * root has handled since, by another way than its resend (merged with a branch, given up as a
   * gap, refused), holds nothing back: its resend is a duplicate and would never clear it, and
   * every later change of the origin was sent back for good (found by the chaos suite: a writer
   * whose changes all stayed pending, resent every second, answered "an earlier change of
   * yours was sent back" each time).
   */
  sentBack(origin: EndpointId): number | undefined {
    const sentBack = this.#sentBack.get(origin)
    if (sentBack === undefined || sentBack > this.handled(origin)) return sentBack
    this.#sentBack.delete(origin)
    return undefined
  }

  /**
   * `origin` sent `clientSeq` (again), in order: a change sent back up to there is on its way,
   * and a gap asked up to there is filled — whatever the root then makes of the change (sent
   * back again, refused), the origin does hold it, so the gap is never given up for it.
   */
  resent(origin: EndpointId, clientSeq: number): void {
    const sentBack = this.#sentBack.get(origin)
    if (sentBack !== undefined && clientSeq <= sentBack) this.#sentBack.delete(origin)
    const asked = this.#resendAsked.get(origin)
    if (asked !== undefined && clientSeq >= asked.clientSeq) this.#resendAsked.delete(origin)
  }
}
