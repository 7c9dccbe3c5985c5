import { BadFrameError } from '../errors.js'
import type { DocId, EndpointId } from '../ids.js'
import { encodeMessage, stampSequenced, type Message } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import { decodeFragmentBody, encodeOp, type FragmentBody } from '../protocol/ops.js'
import { RefusalCodec } from '../protocol/payloads.js'
import { opOf } from './legacy.js'
import type { HistoryEntry } from './op-history.js'
import { applyOp, hasMove, interacts, isNoop, PlaceIndex, transformOp, type Op } from './ot.js'
import { remoteFragment, type DocumentFragment, type PendingFragment } from './fragment.js'
import { RejectionMemory } from './rejections.js'
import type { Replica } from './replica.js'

interface Prepared {
  candidate: Candidate
  entry: HistoryEntry
  envelope: Uint8Array
  /** The confirmed state once this one is applied. */
  state: unknown
  /** The confirmed state before it. */
  before: unknown
}

interface Candidate {
  /** The received envelope, stamped rather than re-encoded when sequenced unchanged. */
  raw?: Uint8Array | undefined
  origin: EndpointId
  clientSeq: number
  base: number
  body: FragmentBody
  payload: Uint8Array
}

type Placed = { op: Op; sent: Op; transformed: boolean; chain?: Chain | undefined }
type Placement = Placed | { stale: string; minBase: number } | { reject: string }

/** One flush: the batch taken, and what became of each fragment so far. */
interface Run {
  batch: Candidate[]
  /** Index of the next fragment to place. */
  next: number
  prepared: Prepared[]
  rejected: Array<{ candidate: Candidate; reason: string }>
  stale: Array<{ candidate: Candidate; reason: string; minBase: number }>
  /** Origins refused in this run: their later fragments here were made on top of it. */
  refusedNow: Set<EndpointId>
  /** The confirmed state once the prepared fragments are applied, and its seq. */
  state: unknown
  seq: number
  epoch: number
  /** True once the run waited for a hook (it holds the sequencer until it completes). */
  held: boolean
}

/**
 * Per origin, for its changes made on `base`: `foreign`, everything sequenced by others since
 * `base` (up to `upTo`), in order, each carried past this origin's own changes sequenced
 * since `base` as it sent them. A change made on `base` is then transformed over these
 * alone, instead of over every entry with every own change in between (quadratic in a
 * burst); entries on unrelated paths cost a path comparison, not a transform.
 */
interface Chain {
  base: number
  upTo: number
  foreign: Op[]
}

/** Transforms of own changes the general case may do for one fragment (see #transformOverOwn). */
const TRANSFORM_BUDGET = 512

const VANISHED = 'what it changed was removed or replaced by a concurrent change (the removal wins)'

/** Origins whose chain is cached; the oldest is dropped beyond this. */
const CHAINS = 4096

/** The least time between two RESEND requests for the same gap of one origin. */
const RESEND_EVERY_MS = 500

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
   * Per origin, the lowest clientSeq sent back to be rebased (stale) and not resent since. A
   * later change of that origin accepted meanwhile (behind a validation) is sent back too, so
   * the origin's changes are sequenced in its order.
   */
  readonly #sentBack = new Map<EndpointId, number>()
  /** The last RESEND asked of each origin (see #askResend). */
  readonly #resendAsked = new Map<EndpointId, { clientSeq: number; at: number }>()

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

  /** True when the root's own change can be sequenced synchronously (no storage, nothing in flight). */
  get canSequenceLocally(): boolean {
    return !this.#paused && !this.#committing && this.replica.io.storage === undefined
  }

  /** The root's own change, made on its confirmed state: sequenced at once, nothing to transform. */
  sequenceLocal(p: PendingFragment, newState: unknown): void {
    const r = this.replica
    const base = r.seq
    const before = r.confirmed
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
    r.advanced()
    if (r.io.hooks?.notifies) r.io.hooks.sequenced(r.doc, [{ doc: r.doc, endpoint: r.io.self, ops: p.op, before, after: newState, seq, clientSeq }], () => this.#stored())
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
      this.#askResend(origin, stored + 1 + this.#staged(origin))
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
    const sentBack = this.#sentBack.get(origin)
    if (sentBack !== undefined && clientSeq <= sentBack) this.#sentBack.delete(origin)
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
    // Retired (this endpoint re-joined another tree): what was staged goes to the new root.
    if (this.replica.sequencer !== this) return void (this.#batch = [])
    const batch = this.#batch
    this.#batch = []
    this.#stagedBy.clear()
    if (batch.length === 0) return
    const r = this.replica
    this.#prepare({ batch, next: 0, prepared: [], rejected: [], stale: [], refusedNow: new Set(), state: r.confirmed, seq: r.seq, epoch: r.io.epoch(), held: false })
  }

  /**
   * Places, applies and validates the run's fragments in order, synchronously until the
   * validate hook answers with a promise: then the run holds the sequencer (like a storage
   * write: later fragments wait in the next batch, in order) and goes on from the answer.
   */
  #prepare(run: Run): void {
    const r = this.replica
    while (run.next < run.batch.length) {
      const c = run.batch[run.next++]!
      if (run.refusedNow.has(c.origin)) {
        run.stale.push({ candidate: c, reason: 'an earlier change of yours in the same batch was refused', minBase: 0 })
        continue
      }
      const sentBack = this.#sentBack.get(c.origin)
      if (sentBack !== undefined && c.clientSeq > sentBack) {
        // An earlier change of this origin was sent back (stale) while this one waited behind
        // a validation: sequencing it now would put it before that one.
        run.stale.push({ candidate: c, reason: 'an earlier change of yours was sent back to be rebased', minBase: 0 })
        run.refusedNow.add(c.origin)
        continue
      }
      const placed = this.#place(c, run.state, run.prepared)
      if ('reject' in placed || 'stale' in placed) {
        if ('reject' in placed) run.rejected.push({ candidate: c, reason: placed.reject })
        else run.stale.push({ candidate: c, reason: placed.stale, minBase: placed.minBase })
        run.refusedNow.add(c.origin)
        continue
      }
      let next: unknown
      try {
        next = applyOp(run.state, placed.op)
      } catch (error) {
        run.rejected.push({ candidate: c, reason: `its operation does not apply to the current document (${(error as Error).message})` })
        run.refusedNow.add(c.origin)
        continue
      }
      const hooks = r.io.hooks
      if (hooks?.validates && c.origin !== r.io.self) {
        const verdict = hooks.validate({ doc: r.doc, endpoint: c.origin, ops: placed.op, before: run.state, after: next })
        if (verdict instanceof Promise) {
          this.#hold(run)
          void verdict.then((v) => {
            // Retired while the hook decided (this endpoint re-joined another tree): the run is
            // dropped, its changes go to the new root.
            if (this.replica.sequencer !== this) return this.#release()
            this.#validated(run, c, placed, next, v)
            this.#prepare(run)
          })
          return
        }
        if (!this.#validated(run, c, placed, next, verdict)) continue
      } else this.#add(run, c, placed, next)
    }
    this.#commit(run)
  }

  /** Adds a validated fragment to the run, or refuses it; true when added. */
  #validated(run: Run, c: Candidate, placed: Placed, next: unknown, verdict: boolean | string): boolean {
    if (verdict === true) {
      this.#add(run, c, placed, next)
      return true
    }
    run.rejected.push({ candidate: c, reason: typeof verdict === 'string' && verdict ? verdict : "the root's validate hook refused it" })
    run.refusedNow.add(c.origin)
    return false
  }

  #add(run: Run, c: Candidate, placed: Placed, next: unknown): void {
    const r = this.replica
    const before = run.state
    run.state = next
    const seq = ++run.seq
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
        ? stampSequenced(c.raw, r.io.self, seq, run.epoch)
        : encodeMessage({ kind: Kind.FRAGMENT, origin: c.origin, sender: r.io.self, doc: r.doc, clientSeq: c.clientSeq, seq, baseSeq: c.base, epoch: run.epoch, payload: encodeOp(placed.op) })
    run.prepared.push({ candidate: c, entry, envelope, state: next, before })
  }

  /**
   * The run waits for a hook: the sequencer is held as during a storage write. Every fragment
   * of the run counts as in flight, so a resend of one is not taken twice and a next change
   * of the same origin queues behind them instead of looking like a gap.
   */
  #hold(run: Run): void {
    if (run.held) return
    run.held = true
    this.#committing = true
    for (const c of run.batch) this.#inFlightUpTo.set(c.origin, Math.max(c.clientSeq, this.#inFlightUpTo.get(c.origin) ?? 0))
  }

  /** Stores the run (when the root has storage), then acknowledges, refuses and publishes it. */
  #commit(run: Run): void {
    const r = this.replica
    const { prepared, rejected, stale } = run
    const storage = r.io.storage
    if (!storage || prepared.length === 0) {
      this.#complete(prepared, rejected, stale)
      if (run.held) this.#release()
      return
    }
    this.#committing = true
    for (const p of prepared) this.#inFlightUpTo.set(p.candidate.origin, Math.max(p.candidate.clientSeq, this.#inFlightUpTo.get(p.candidate.origin) ?? 0))
    for (const { candidate: c } of rejected) this.#markRejected(c.origin, c.clientSeq)
    const stored = prepared.map((p) => ({ seq: p.entry.seq, origin: p.candidate.origin, clientSeq: p.candidate.clientSeq, envelope: p.envelope }))
    storage
      .append(r.doc, stored)
      .then(
        () => {
          // This endpoint stopped being the root while the batch was being written (a stale
          // root re-joining the tree that went on without it): nobody was told of these seqs,
          // and the replica now follows another history. Applying them here would put our
          // fragments at seqs the real root gave to others; their origins resend them there.
          if (r.sequencer !== this) return void r.io.logger.warn({ doc: r.doc, fragments: prepared.length }, 'no longer the root when a batch became durable; it is dropped, its changes go to the new root')
          this.#complete(prepared, rejected, stale)
        },
        (error: unknown) => {
          if (r.sequencer !== this) return
          // Not durable, so not acknowledged: the origins are told and roll it back.
          r.io.logger.error({ err: error, doc: r.doc, fragments: prepared.length }, 'storage append failed; rejecting the batch')
          this.#chains.clear() // they followed entries that are not sequenced after all
          const reason = `the root could not store it (${(error as Error).message})`
          for (const p of prepared) this.#refuse(p.candidate, reason)
          for (const x of rejected) this.#refuse(x.candidate, x.reason)
          for (const x of stale) this.#sendStale(x.candidate, x.reason, x.minBase)
        },
      )
      .finally(() => this.#release())
  }

  /** The sequencer takes new runs again; what arrived meanwhile goes out now (unless retired). */
  #release(): void {
    this.#committing = false
    this.#inFlightUpTo.clear()
    const waiting = this.#commitWaiters.splice(0)
    for (const wake of waiting) wake()
    if (this.#batch.length > 0 && this.replica.sequencer === this) this.#flush()
  }

  /**
   * Where a fragment goes: its op rewritten to follow every entry sequenced after its base.
   * The origin made it on (state at base) + its own changes sequenced since, as it sent them
   * (it sends a change at once only while none of those was rebased, see Replica); a foreign
   * entry is first carried past those own changes, then the fragment is carried past it.
   */
  #place(c: Candidate, state: unknown, prepared: Prepared[]): Placement {
    const r = this.replica
    if (c.body.patches !== undefined) {
      // A peer from before operations: positional patches, applied where they point.
      try {
        const op = opOf(c.body, state)
        return { op, sent: op, transformed: false }
      } catch (error) {
        return { reject: `its patches do not apply to the current document (${(error as Error).message})` }
      }
    }
    if (c.body.rejections < this.#rejections.lastRefused(c.origin)) {
      return { stale: 'it was made on top of a change of yours the root refused; it is rebased and sent again', minBase: 0 }
    }
    if (c.base > r.seq) return { reject: `its base seq ${c.base} is ahead of the document (seq ${r.seq})` }
    if (!r.history.covers(c.base)) {
      return { stale: `its base seq ${c.base} is older than the root's history of operations`, minBase: r.seq }
    }
    const sent = c.body.op
    const cached = this.#chains.get(c.origin)
    const from = cached && cached.base === c.base ? cached.upTo : c.base
    const foreign: Op[] = from === c.base ? [] : [...cached!.foreign]
    const since = (seq: number): HistoryEntry[] => [...(r.history.since(Math.min(seq, r.seq)) ?? []), ...prepared.map((p) => p.entry)].filter((e) => e.seq > seq)
    for (const e of since(from)) {
      // Own changes after the base that this chain did not follow: the general case.
      if (e.origin === c.origin) return this.#placeOverOwn(c, since(c.base))
      foreign.push(e.op)
    }
    try {
      let op = sent
      for (let i = 0; i < foreign.length; i++) {
        const f = foreign[i]!
        foreign[i] = transformOp(f, op, false)
        op = transformOp(op, f, true)
      }
      if (isNoop(op) && !isNoop(sent)) return { reject: VANISHED }
      return { op, sent, transformed: op !== sent, chain: { base: c.base, upTo: 0, foreign } }
    } catch (error) {
      return { reject: `its operation cannot be transformed over concurrent changes (${(error as Error).message})` }
    }
  }

  /**
   * The general case, without a cached chain: own changes sequenced after the base (a chain
   * this root did not follow from its start). Each foreign entry is carried past the own
   * changes sequenced after it, then the fragment past that.
   */
  #placeOverOwn(c: Candidate, entries: HistoryEntry[]): Placement {
    try {
      return this.#transformOverOwn(c, entries)
    } catch (error) {
      return { reject: `its operation cannot be transformed over concurrent changes (${(error as Error).message})` }
    }
  }

  #transformOverOwn(c: Candidate, entries: HistoryEntry[]): Placement {
    let op: Op = c.body.op!
    const sent = op
    // The common case: no foreign entry touches what this change touches, and no own change
    // moves anything (so carrying foreign entries past them cannot bring one here): nothing
    // to transform, whatever the own changes in between.
    let quiet = true
    for (const e of entries) {
      if (e.origin === c.origin) {
        if (e.sent === undefined || hasMove(e.sent)) {
          quiet = false
          break
        }
      } else if (e.op !== null && sent !== null && interacts(sent, e.op)) {
        quiet = false
        break
      }
    }
    if (quiet) return { op: sent, sent, transformed: false }
    const own: Op[] = []
    let lastOwn = 0
    for (const e of entries) {
      if (e.origin !== c.origin) continue
      if (e.sent === undefined) lastOwn = e.seq
      own.push(e.sent ?? null)
    }
    // Own changes sequenced by a previous root: how they were sent is not known here.
    if (lastOwn > 0) return { stale: 'it follows changes of yours sequenced before this root took over', minBase: lastOwn }
    let lastOwnSeq = 0
    for (const e of entries) if (e.origin === c.origin) lastOwnSeq = e.seq
    // Foreign entries on places none of the own changes touch need no carrying past them.
    const ownPlaces = new PlaceIndex()
    for (const o of own) ownPlaces.add(o)
    let k = 0
    let transformed = false
    let work = 0
    for (const e of entries) {
      if (e.origin === c.origin) {
        k++
        continue
      }
      let h = e.op
      if (ownPlaces.touches(h)) {
        // Many own changes in flight, many others' changes on the same places: quadratic. Past
        // a budget the origin is asked to send it again once its own changes are sequenced
        // (then nothing of its own follows the base and this costs one pass), so the root's
        // event loop (heartbeats included) never stalls on one fragment.
        work += own.length - k
        if (work > TRANSFORM_BUDGET) return { stale: 'it follows many changes of yours still in flight on contended places', minBase: lastOwnSeq }
        for (let j = k; j < own.length; j++) {
          const next = transformOp(own[j]!, h, true)
          h = transformOp(h, own[j]!, false)
          if (next !== own[j]) ownPlaces.add(next) // a move may have taken it elsewhere
          own[j] = next
        }
      }
      const next = transformOp(op, h, true)
      if (next !== op) transformed = true
      op = next
    }
    if (isNoop(op) && !isNoop(sent)) return { reject: VANISHED }
    return { op, sent, transformed }
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
    if (prepared.length > 0) {
      r.advanced()
      r.afterSequenced()
      if (r.io.hooks?.notifies) {
        const events = prepared.map(({ candidate: c, entry, before, state: after }) => ({ doc: r.doc, endpoint: c.origin, ops: entry.op, before, after, seq: entry.seq, clientSeq: c.clientSeq }))
        r.io.hooks.sequenced(r.doc, events, () => this.#stored())
      }
    }
  }

  /** What onStore stores: the confirmed state now. */
  #stored(): { doc: DocId; seq: number; state: unknown } {
    return { doc: this.replica.doc, seq: this.replica.seq, state: this.replica.confirmed }
  }

  #refuse(c: Candidate, reason: string): void {
    this.#markRejected(c.origin, c.clientSeq)
    this.#reject(c.origin, c.clientSeq, reason)
  }

  /** Not a refusal: the origin rebases the change and sends it again (PROTOCOL.md, Operations). */
  #sendStale(c: Candidate, reason: string, minBase: number): void {
    const r = this.replica
    r.io.stats.staleBases++
    this.#sentBack.set(c.origin, Math.min(c.clientSeq, this.#sentBack.get(c.origin) ?? Infinity))
    this.#send(c.origin, c.clientSeq, 'ERR_STALE_BASE', reason, minBase)
  }

  #reject(origin: EndpointId, clientSeq: number, reason: string): void {
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

  /**
   * Asks `origin` to resend from `clientSeq`, at most once per RESEND_EVERY_MS for one gap. Every
   * fragment past a gap arrives out of order; answering each one made an origin with a hundred
   * changes in flight resend all of them a hundred times, and again for each of those: a storm
   * that never ends when the gap cannot be filled.
   */
  #askResend(origin: EndpointId, clientSeq: number): void {
    const now = Date.now()
    const last = this.#resendAsked.get(origin)
    if (last && last.clientSeq === clientSeq && now - last.at < RESEND_EVERY_MS) return
    if (this.#resendAsked.size >= CHAINS) this.#resendAsked.delete(this.#resendAsked.keys().next().value!)
    this.#resendAsked.set(origin, { clientSeq, at: now })
    this.#reply(Kind.RESEND, origin, clientSeq, 0)
  }

  #reply(kind: Kind, to: EndpointId, clientSeq: number, seq: number): void {
    const r = this.replica
    r.io.sendTo(to, encodeMessage({ kind, origin: r.io.self, doc: r.doc, clientSeq, seq, epoch: r.io.epoch() }))
  }
}
