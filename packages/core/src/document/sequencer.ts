import { BadFrameError } from '../errors.js'
import type { EndpointId } from '../ids.js'
import { encodeMessage, stampSequenced, type Message } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import { decodeFragmentBody, encodeOp, type FragmentBody } from '../protocol/ops.js'
import { RefusalCodec } from '../protocol/payloads.js'
import type { HistoryEntry } from './op-history.js'
import { applyOp } from './ot.js'
import { place, type Candidate, type Chain } from './placement.js'
import { remoteFragment, type DocumentFragment, type PendingFragment } from './fragment.js'
import { RejectionMemory } from './rejections.js'
import type { Replica } from './replica.js'

interface Prepared {
  candidate: Candidate
  entry: HistoryEntry
  envelope: Uint8Array
  /** The confirmed state once this one is applied. */
  state: unknown
}

/** Origins whose chain is cached; the oldest is dropped beyond this. */
const CHAINS = 4096

/**
 * A flush sequences for at most this long, then lets the event loop turn (heartbeats, I/O)
 * before it goes on with the rest of the batch: a burst of many writers on one list costs
 * transforms, and a root that holds its loop past a peer timeout looks dead to its children.
 */
const SLICE_MS = 40

/**
 * The root's half of a replica: rewrites every accepted fragment to follow what was sequenced
 * since its base seq (operational transformation), gives it the document's next seq, exactly
 * once per (origin, clientSeq), and publishes the sequenced form, which is what every replica
 * applies.
 */
export class Sequencer {
  /** Highest rejected clientSeq per origin; sequenced ones are in replica.clientSeqs (from the log). */
  readonly #rejectedUpTo = new Map<EndpointId, number>()
  readonly #rejections: RejectionMemory
  #batch: Candidate[] = []
  /** Fragments per origin in #batch, so gap checks stay O(1) however big the batch. */
  readonly #stagedBy = new Map<EndpointId, number>()
  #scheduled = false
  #paused = false
  #committing = false
  readonly #commitWaiters: Array<() => void> = []
  #held: Message[] = []
  /**
   * Highest clientSeq per origin in the batch being written to storage: no longer staged, not
   * yet in replica.clientSeqs. Without it a fragment arriving meanwhile looks like a gap, and a
   * resend of an in-flight one is sequenced a second time.
   */
  readonly #inFlightUpTo = new Map<EndpointId, number>()
  readonly #chains = new Map<EndpointId, Chain>()
  /**
   * Origins refused (or answered stale) in the batch being sequenced, kept while its rest waits
   * for the next slice: their later fragments there were made on top of the refused one.
   */
  #refusedNow = new Set<EndpointId>()

  constructor(readonly replica: Replica) {
    // Whatever this root did not refuse itself, it cannot tell apart (a restart, a promotion).
    this.#rejections = new RejectionMemory(replica.clientSeqs)
  }

  get paused(): boolean {
    return this.#paused
  }

  /** Holds new fragments (a promoted root recovering); they are sequenced on resume. */
  pause(): void {
    this.#paused = true
  }

  resume(): void {
    this.#paused = false
    const held = this.#held
    this.#held = []
    for (const m of held) this.accept(m)
  }

  #handled(origin: EndpointId): number {
    return Math.max(this.replica.clientSeqs.get(origin) ?? 0, this.#rejectedUpTo.get(origin) ?? 0)
  }

  #markRejected(origin: EndpointId, clientSeq: number): void {
    if (clientSeq > (this.#rejectedUpTo.get(origin) ?? 0)) this.#rejectedUpTo.set(origin, clientSeq)
  }

  /**
   * True when the root's own change can be sequenced synchronously (no storage, nothing in
   * flight). Fragments staged meanwhile (the rest of a sliced batch included) are sequenced
   * after it, transformed over it like over any change sequenced after their base.
   */
  get canSequenceLocally(): boolean {
    return !this.#paused && !this.#committing && this.replica.io.storage === undefined
  }

  /** The root's own change, made on its confirmed state: sequenced at once, nothing to transform. */
  sequenceLocal(p: PendingFragment, newState: unknown): void {
    const r = this.replica
    const base = r.seq
    r.confirmed = newState
    p.fragment.baseSeq = base
    const seq = ++r.seq
    const epoch = r.io.epoch()
    const clientSeq = p.fragment.clientSeq
    const envelope = encodeMessage({ kind: Kind.FRAGMENT, origin: r.io.self, sender: r.io.self, doc: r.doc, clientSeq, seq, baseSeq: base, epoch, payload: encodeOp(p.op) })
    r.clientSeqs.set(r.io.self, clientSeq)
    r.log.append({ seq, origin: r.io.self, clientSeq, epoch, envelope })
    r.history.append({ seq, origin: r.io.self, clientSeq, base, op: p.op, sent: p.op })
    r.io.stats.sequenced++
    r.io.publishFragments(r.doc, [envelope])
    r.afterSequenced()
    p.resolve(seq)
  }

  /** An unsequenced FRAGMENT from below. Duplicates are answered, gaps asked to resend. */
  accept(message: Message): void {
    if (this.#paused) {
      this.#held.push(message)
      return
    }
    const r = this.replica
    const { origin, clientSeq } = message
    const handled = this.#handled(origin)
    if (clientSeq <= handled) {
      r.io.stats.duplicates++
      this.#answerDuplicate(origin, clientSeq)
      return
    }
    const stored = Math.max(handled, this.#inFlightUpTo.get(origin) ?? 0)
    if (clientSeq <= stored) {
      // Being written to storage: its echo, once durable, is the answer.
      r.io.stats.duplicates++
      return
    }
    if (clientSeq > stored + 1 + this.#staged(origin)) {
      // An earlier change of this origin was lost on the way: ask for it, keep order.
      r.io.stats.dropped++
      this.#reply(Kind.RESEND, origin, stored + 1 + this.#staged(origin), 0)
      return
    }
    if (clientSeq < stored + 1 + this.#staged(origin)) {
      r.io.stats.duplicates++
      return
    }
    let body: FragmentBody
    try {
      body = decodeFragmentBody(message.payload)
    } catch (error) {
      this.#markRejected(origin, clientSeq)
      this.#reject(origin, clientSeq, error instanceof BadFrameError ? `its operation is malformed (${error.reason})` : String(error))
      return
    }
    this.#batch.push({ origin, clientSeq, base: message.baseSeq, body, payload: message.payload, raw: message.kind === Kind.FRAGMENT && message.seq === 0 ? message.raw : undefined })
    this.#stagedBy.set(origin, (this.#stagedBy.get(origin) ?? 0) + 1)
    if (!this.#scheduled) {
      this.#scheduled = true
      r.io.defer(() => this.flush())
    }
  }

  /**
   * A resent change this root has handled: its seq if the log has it, its refusal if that is
   * remembered, and a refusal saying so when this root cannot tell (it forgot, or it was not
   * the root then). Never a success it cannot vouch for.
   */
  #answerDuplicate(origin: EndpointId, clientSeq: number): void {
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
    this.#reply(Kind.ACK, origin, clientSeq, 0)
  }

  /** Refuses a change without looking at it (authorization). */
  refuse(message: Message, reason: string): void {
    const handled = Math.max(this.#handled(message.origin), this.#inFlightUpTo.get(message.origin) ?? 0)
    if (message.clientSeq === handled + 1 + this.#staged(message.origin)) this.#markRejected(message.origin, message.clientSeq)
    this.#reject(message.origin, message.clientSeq, reason)
  }

  #staged(origin: EndpointId): number {
    return this.#stagedBy.get(origin) ?? 0
  }

  /**
   * Sequences everything staged since the last flush, each fragment transformed over what was
   * sequenced after its base. With storage, the batch is appended (durable) before anything
   * is published or acknowledged; batches that arrive meanwhile wait and go out together,
   * which is group commit under load.
   */
  flush(): void {
    this.#flush()
  }

  #flush(): void {
    this.#scheduled = false
    if (this.#committing) return
    const batch = this.#batch
    this.#batch = []
    this.#stagedBy.clear()
    if (batch.length === 0) return
    const r = this.replica
    const prepared: Prepared[] = []
    const rejected: Array<{ candidate: Candidate; reason: string }> = []
    const stale: Array<{ candidate: Candidate; reason: string; minBase: number }> = []
    const refusedNow = this.#refusedNow
    let state = r.confirmed
    let seq = r.seq
    const epoch = r.io.epoch()
    const started = performance.now()
    let done = 0
    for (const c of batch) {
      if (done > 0 && done % 16 === 0 && performance.now() - started > SLICE_MS) break
      done++
      if (refusedNow.has(c.origin)) {
        stale.push({ candidate: c, reason: 'an earlier change of yours in the same batch was refused', minBase: 0 })
        continue
      }
      const placed = place(c, state, r, this.#chains, this.#rejections.lastRefused(c.origin), prepared)
      if ('reject' in placed || 'stale' in placed) {
        if ('reject' in placed) rejected.push({ candidate: c, reason: placed.reject })
        else stale.push({ candidate: c, reason: placed.stale, minBase: placed.minBase })
        refusedNow.add(c.origin)
        continue
      }
      let next: unknown
      try {
        next = applyOp(state, placed.op)
      } catch (error) {
        rejected.push({ candidate: c, reason: `its operation does not apply to the current document (${(error as Error).message})` })
        refusedNow.add(c.origin)
        continue
      }
      state = next
      seq++
      if (placed.chain) {
        this.#chains.delete(c.origin) // re-inserted: most recently used last
        this.#chains.set(c.origin, { ...placed.chain, upTo: seq })
        if (this.#chains.size > CHAINS) this.#chains.delete(this.#chains.keys().next().value!)
      } else this.#chains.delete(c.origin)
      if (placed.transformed) r.io.stats.transformed++
      const entry: HistoryEntry = { seq, origin: c.origin, clientSeq: c.clientSeq, base: c.base, op: placed.op, sent: placed.sent }
      // Unchanged by the transform: the received bytes, stamped; else the sequenced form.
      const envelope =
        c.raw && !placed.transformed && c.body.patches === undefined
          ? stampSequenced(c.raw, r.io.self, seq, epoch)
          : encodeMessage({ kind: Kind.FRAGMENT, origin: c.origin, sender: r.io.self, doc: r.doc, clientSeq: c.clientSeq, seq, baseSeq: c.base, epoch, payload: encodeOp(placed.op) })
      prepared.push({ candidate: c, entry, envelope, state })
    }
    if (done < batch.length) {
      // The rest goes first in the next slice, after a turn of the event loop; nothing else
      // starts a flush meanwhile (#scheduled).
      const rest = batch.slice(done)
      this.#batch = rest.concat(this.#batch)
      for (const c of rest) this.#stagedBy.set(c.origin, (this.#stagedBy.get(c.origin) ?? 0) + 1)
      this.#scheduled = true
      const next = () => this.#flush()
      if (r.io.later) r.io.later(next)
      else r.io.defer(next)
    } else this.#refusedNow = new Set()
    const storage = r.io.storage
    if (!storage || prepared.length === 0) {
      this.#complete(prepared, rejected, stale)
      return
    }
    this.#committing = true
    for (const p of prepared) this.#inFlightUpTo.set(p.candidate.origin, Math.max(p.candidate.clientSeq, this.#inFlightUpTo.get(p.candidate.origin) ?? 0))
    for (const { candidate: c } of rejected) this.#markRejected(c.origin, c.clientSeq)
    const stored = prepared.map((p) => ({ seq: p.entry.seq, origin: p.candidate.origin, clientSeq: p.candidate.clientSeq, envelope: p.envelope }))
    storage
      .append(r.doc, stored)
      .then(
        () => this.#complete(prepared, rejected, stale),
        (error: unknown) => {
          // Not durable, so not acknowledged: the origins are told and roll it back.
          r.io.logger.error({ err: error, doc: r.doc, fragments: prepared.length }, 'storage append failed; rejecting the batch')
          this.#chains.clear() // they followed entries that are not sequenced after all
          const reason = `the root could not store it (${(error as Error).message})`
          for (const p of prepared) this.#refuse(p.candidate, reason)
          for (const x of rejected) this.#refuse(x.candidate, x.reason)
          for (const x of stale) this.#sendStale(x.candidate, x.reason, x.minBase)
        },
      )
      .finally(() => {
        this.#committing = false
        this.#inFlightUpTo.clear()
        const waiting = this.#commitWaiters.splice(0)
        for (const wake of waiting) wake()
        if (this.#batch.length > 0) this.#flush()
      })
  }

  /** Resolves when no batch is being written to storage. */
  idle(): Promise<void> {
    if (!this.#committing) return Promise.resolve()
    return new Promise((resolve) => this.#commitWaiters.push(resolve))
  }

  #complete(prepared: Prepared[], rejected: Array<{ candidate: Candidate; reason: string }>, stale: Array<{ candidate: Candidate; reason: string; minBase: number }>): void {
    const r = this.replica
    const envelopes: Uint8Array[] = []
    const applied: DocumentFragment[] = []
    for (const { candidate: c, entry, envelope } of prepared) {
      r.seq = entry.seq
      r.clientSeqs.set(c.origin, c.clientSeq)
      r.log.append({ seq: entry.seq, origin: c.origin, clientSeq: c.clientSeq, epoch: r.io.epoch(), envelope })
      r.history.append(entry)
      r.io.stats.sequenced++
      envelopes.push(envelope)
    }
    // Refusals first: a stale answer tells the origin which refusal to wait for.
    for (const x of rejected) this.#refuse(x.candidate, x.reason)
    for (const x of stale) this.#sendStale(x.candidate, x.reason, x.minBase)
    // The root's own replica follows like any other: its pending changes rebased over each.
    for (const { candidate: c, entry, state: after } of prepared) {
      r.confirmed = after
      if (c.origin === r.io.self) r.acknowledgeOwn(c.clientSeq, entry.seq)
      else {
        r.followSequenced(entry.op)
        applied.push(remoteFragment(r.doc, c.origin, c.clientSeq, entry.seq, c.base, entry.op))
      }
    }
    if (envelopes.length > 0) r.io.publishFragments(r.doc, envelopes)
    if (applied.length > 0) r.events.emit('change', r.visible, applied[applied.length - 1], applied)
    if (prepared.length > 0) r.afterSequenced()
  }

  #refuse(c: Candidate, reason: string): void {
    this.#markRejected(c.origin, c.clientSeq)
    this.#reject(c.origin, c.clientSeq, reason)
  }

  /** Not a refusal: the origin rebases the change and sends it again (PROTOCOL.md, Operations). */
  #sendStale(c: Candidate, reason: string, minBase: number): void {
    if (process.env.ZDBG) console.log("STALE", c.origin.slice(0, 8), c.clientSeq, c.base, reason, minBase, this.replica.seq)
    const r = this.replica
    r.io.stats.staleBases++
    this.#send(c.origin, c.clientSeq, 'ERR_STALE_BASE', reason, minBase)
  }

  #reject(origin: EndpointId, clientSeq: number, reason: string): void {
    if (process.env.ZDBG) console.log("REJECT", origin.slice(0, 8), clientSeq, reason, this.replica.seq)
    this.replica.io.stats.rejected++
    this.#rejections.remember(origin, clientSeq, reason)
    this.#send(origin, clientSeq, 'ERR_CHANGE_REJECTED', reason)
  }

  /**
   * A REJECT: `seq` carries the least base seq the root will take from this origin, and
   * `baseSeq` the highest clientSeq of this origin the root has refused.
   */
  #send(origin: EndpointId, clientSeq: number, code: string, reason: string, minBase = 0): void {
    const r = this.replica
    const refusals = this.#rejections.lastRefused(origin)
    if (origin === r.io.self) {
      r.rejected(clientSeq, reason, code, minBase, refusals)
      return
    }
    const payload = RefusalCodec.encode({ code, reason })
    r.io.sendTo(origin, encodeMessage({ kind: Kind.REJECT, origin: r.io.self, doc: r.doc, clientSeq, seq: minBase, baseSeq: refusals, epoch: r.io.epoch(), payload }))
  }

  #reply(kind: Kind, to: EndpointId, clientSeq: number, seq: number): void {
    const r = this.replica
    r.io.sendTo(to, encodeMessage({ kind, origin: r.io.self, doc: r.doc, clientSeq, seq, epoch: r.io.epoch() }))
  }
}
