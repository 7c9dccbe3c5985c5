import { BadFrameError } from '../errors.js'
import type { EndpointId } from '../ids.js'
import { encodeMessage, stampSequenced, type Message } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import { decodeFragmentBody, encodeOp, type FragmentBody } from '../protocol/ops.js'
import type { HistoryEntry } from './op-history.js'
import { applyOp, applyOpAs } from './ot.js'
import { OpenPass } from './draft-apply.js'
import { place, type Candidate, type Chain, type Placed } from './placement.js'
import type { PendingFragment } from './fragment.js'
import { OriginAnswers } from './origin-answers.js'
import type { Replica } from './replica.js'
import { planMerge } from './branch-plan.js'
import { completeRun } from './run-completion.js'
import { sequenceLocal } from './sequence-local.js'
import { newRun, receivedBy, requeued, settle, type Run } from './sequencer-run.js'
import { storeAfter } from './store-after.js'

/** Origins whose chain is cached; the oldest is dropped beyond this. */
const CHAINS = 4096

/**
 * A run places fragments for at most this long, then what it has goes out and the rest of the
 * batch waits for a turn of the event loop (heartbeats, I/O): a burst of many writers on one
 * list costs transforms, and a root that holds its loop past a peer timeout looks dead.
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
  /** Refusals, stale answers, resend requests and acknowledgments of duplicates. */
  readonly #answers: OriginAnswers
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
   * A batch that became durable while the root could not prove its leadership (a pause during
   * the write outlived the lease window): answered on `resume` if this root still leads, never
   * if it stepped down. Acknowledging it at once could confirm a change the next root, elected
   * meanwhile, recovered without.
   */
  #parked: (() => void) | undefined
  /**
   * The seq and epoch the parked batch followed (it is completed only if nothing moved since),
   * and its fragments as received, to be placed again if it is dropped.
   */
  #parkedAt: { seq: number; epoch: number; candidates: Candidate[] } | undefined
  /** Branches to merge (see mergeBranch), waiting while paused or while a run is being written. */
  #merges: Array<() => void> = []

  constructor(readonly replica: Replica) {
    this.#answers = new OriginAnswers(replica)
  }

  get paused(): boolean {
    return this.#paused
  }

  /** Fragments held while paused. */
  get heldCount(): number {
    return this.#held.length
  }

  /** Holds new fragments (a promoted root recovering); they are sequenced on resume. */
  pause(): void {
    this.#paused = true
  }

  resume(): void {
    this.#paused = false
    const parked = this.#parked
    if (parked && this.replica.io.mayConfirm?.() === false) return void (this.#paused = true)
    this.#parked = undefined
    const parkedAt = this.#parkedAt
    this.#parkedAt = undefined
    if (parked && parkedAt && (this.replica.seq !== parkedAt.seq || this.replica.io.epoch() !== parkedAt.epoch)) {
      // The lease lapsed before the batch could be answered, and the root was elected again (or
      // took another history meanwhile): nobody was told of those seqs, and completing the batch
      // now put the old state back over what recovery brought in (sharded chaos seed 121). Its
      // fragments are placed again, ahead of what was staged behind them (#requeue); what the
      // store holds of it is replaced or overtaken before the next append (storeAfter).
      this.replica.io.logger.warn(
        { doc: this.replica.doc, seq: parkedAt.seq, epoch: parkedAt.epoch },
        'a batch left unanswered when the lease lapsed is dropped: the history moved on since; its fragments are placed again',
      )
      this.#requeue(parkedAt.candidates)
      this.#release()
    } else if (parked && this.replica.sequencer === this) parked()
    const held = this.#held
    this.#held = []
    for (const m of held) this.accept(m)
    // A flush that found the root unable to confirm (see #flush) left its batch staged.
    if ((this.#batch.length > 0 || this.#merges.length > 0) && !this.#scheduled) {
      this.#scheduled = true
      this.replica.io.defer(() => this.flush())
    }
  }

  /** True when the root's own change can be sequenced synchronously (no storage, nothing in flight). */
  get canSequenceLocally(): boolean {
    return !this.#paused && !this.#committing && this.replica.io.storage === undefined && this.replica.io.mayConfirm?.() !== false
  }

  /** The root's own change, made on its confirmed state: sequenced at once, nothing to transform. */
  sequenceLocal(p: PendingFragment, newState: unknown): void {
    sequenceLocal(this.replica, p, newState)
  }

  /** An unsequenced FRAGMENT from below (`decoded`: its payload as checked where it entered). Duplicates are answered, gaps asked to resend. */
  accept(message: Message, decoded?: FragmentBody): void {
    if (this.#paused) {
      this.#held.push(message)
      return
    }
    const r = this.replica
    const { origin, clientSeq } = message
    const handled = this.#answers.handled(origin)
    if (clientSeq <= handled) {
      r.io.stats.duplicates++
      this.#answers.answerDuplicate(origin, clientSeq)
      return
    }
    const stored = Math.max(handled, this.#inFlightUpTo.get(origin) ?? 0)
    if (clientSeq <= stored) {
      // Being written to storage: its echo, once durable, is the answer.
      r.io.stats.duplicates++
      return
    }
    if (clientSeq > stored + 1 + this.#staged(origin)) {
      const from = stored + 1 + this.#staged(origin)
      if (this.#staged(origin) === 0 && stored === handled && (this.#holdsNothingBefore(origin, from, clientSeq) || this.#answers.unfillable(origin, from))) {
        r.io.logger.warn({ doc: r.doc, origin, from, to: clientSeq - 1 }, 'an origin never resends the changes before this one; they were settled by an earlier root: going on without them')
        this.#answers.skipGap(origin, from, clientSeq - 1)
        return this.accept(message, decoded)
      }
      // An earlier change of this origin was lost on the way: ask for it, keep order.
      r.io.stats.dropped++
      this.#answers.askResend(origin, from)
      return
    }
    if (clientSeq < stored + 1 + this.#staged(origin)) {
      r.io.stats.duplicates++
      return
    }
    let body: FragmentBody
    try {
      body = decoded ?? decodeFragmentBody(message.payload)
    } catch (error) {
      this.#answers.markRejected(origin, clientSeq)
      this.#answers.reject(origin, clientSeq, error instanceof BadFrameError ? `its operation is malformed (${error.reason})` : String(error))
      return
    }
    this.#answers.resent(origin, clientSeq)
    this.#batch.push({ origin, clientSeq, base: message.baseSeq, body, payload: message.payload, raw: message.kind === Kind.FRAGMENT && message.seq === 0 ? message.raw : undefined })
    this.#stagedBy.set(origin, (this.#stagedBy.get(origin) ?? 0) + 1)
    if (!this.#scheduled) {
      this.#scheduled = true
      r.io.defer(() => this.flush())
    }
  }

  /**
   * Merges a branch another history sequenced after `fork` (see branch.ts): carried past what
   * this root sequenced since, each fragment is sequenced under its own origin and clientSeq,
   * in the branch's order. All or nothing, and only when this root's history at the fork is
   * the branch's (`chain`, the fingerprint there) and its op history still reaches back there;
   * otherwise nothing happens and the branch's changes come as the resends that follow it.
   */
  mergeBranch(fork: number, chain: number, envelopes: readonly Uint8Array[]): void {
    const merge = () => this.#merge(fork, chain, envelopes)
    if (this.#paused || this.#committing || this.replica.io.mayConfirm?.() === false) return void this.#merges.push(merge)
    merge()
  }

  #merge(fork: number, chain: number, envelopes: readonly Uint8Array[]): void {
    const r = this.replica
    if (r.sequencer !== this) return
    const skip = (reason: string) => r.io.logger.info({ doc: r.doc, fork, fragments: envelopes.length, reason }, 'a branch was not merged; its changes come as resends')
    const plan = planMerge(r, fork, chain, envelopes, (origin) => this.#answers.handled(origin))
    if (typeof plan === 'string') return skip(plan)
    const { branch, ops, upTo } = plan
    const run = newRun([], r.confirmed, r.seq, r.io.epoch())
    for (let i = 0; i < branch.length; i++) {
      const f = branch[i]!
      let next: unknown
      try {
        next = applyOp(run.state, ops[i]!)
      } catch (error) {
        return skip(`fragment ${f.seq} does not apply once carried past ours (${(error as Error).message})`)
      }
      // How its origin sent it is unknown here (`sent` undefined): a later change of that origin
      // made before it is sent back to be rebased (see placement.ts), never guessed.
      this.#add(run, { origin: f.origin, clientSeq: f.clientSeq, base: fork, body: f.body, payload: f.payload }, { op: ops[i]!, sent: undefined, transformed: true }, next)
    }
    // Resends of these already staged are duplicates now: their echo answers them.
    const staged = this.#batch.filter((c) => c.clientSeq > (upTo.get(c.origin) ?? 0))
    if (staged.length !== this.#batch.length) {
      this.#batch = staged
      this.#recount()
    }
    r.io.logger.info({ doc: r.doc, fork, fragments: branch.length, over: plan.over }, 'merged a branch of another history: its changes carried past ours')
    this.#commit(run)
  }

  /**
   * Whether `origin` is this endpoint and holds none of its changes `from`..`upTo - 1`: they
   * were settled by the root it followed before its promotion (refused there), and nothing
   * will ever resend them. A root knows its own pending changes; it need not ask itself, and
   * could not: nothing resends a root's own changes on a timer, so after one throttled RESEND
   * its later changes stayed pending for good (found by the chaos suite).
   */
  #holdsNothingBefore(origin: EndpointId, from: number, upTo: number): boolean {
    const r = this.replica
    return origin === r.io.self && !r.unsettled.some((p) => p.fragment.clientSeq >= from && p.fragment.clientSeq < upTo)
  }

  /** Refuses a change without looking at it (authorization). */
  refuse(message: Message, reason: string): void {
    const handled = Math.max(this.#answers.handled(message.origin), this.#inFlightUpTo.get(message.origin) ?? 0)
    if (message.clientSeq === handled + 1 + this.#staged(message.origin)) this.#answers.markRejected(message.origin, message.clientSeq)
    this.#answers.reject(message.origin, message.clientSeq, reason)
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
    // A coordinated root that cannot prove its leadership right now (a lapsed lease, a woken
    // pause) sequences nothing: the batch stays staged until `resume`, or goes to a new root.
    if (this.replica.io.mayConfirm?.() === false) return void (this.#paused = true)
    // Branches first: the resends that follow them (their duplicates) may already be staged.
    while (this.#merges.length > 0 && !this.#committing) this.#merges.shift()!()
    if (this.#committing) return
    const batch = this.#batch
    this.#batch = []
    this.#stagedBy.clear()
    if (batch.length === 0) return
    const r = this.replica
    this.#prepare(newRun(batch, r.confirmed, r.seq, r.io.epoch()))
  }

  /**
   * Places, applies and validates the run's fragments in order, synchronously until the
   * validate hook answers with a promise: then the run holds the sequencer (like a storage
   * write: later fragments wait in the next batch, in order) and goes on from the answer.
   */
  #prepare(run: Run): void {
    const r = this.replica
    const started = performance.now()
    const from = run.next
    while (run.next < run.batch.length) {
      if (!run.held && (run.next - from) % 16 === 15 && performance.now() - started > SLICE_MS) {
        this.#cut(run)
        break
      }
      const c = run.batch[run.next++]!
      if (run.refusedNow.has(c.origin)) {
        run.stale.push({ candidate: c, reason: 'an earlier change of yours in the same batch was refused', minBase: 0 })
        continue
      }
      const sentBack = this.#answers.sentBack(c.origin)
      if (sentBack !== undefined && c.clientSeq > sentBack) {
        // An earlier change of this origin was sent back (stale) while this one waited behind
        // a validation: sequencing it now would put it before that one.
        run.stale.push({ candidate: c, reason: 'an earlier change of yours was sent back to be rebased', minBase: 0 })
        run.refusedNow.add(c.origin)
        continue
      }
      // place reads the state only for a body of patches (a peer from before operations).
      const placed = place(c, c.body.patches === undefined ? run.state : settle(run), r, this.#chains, this.#answers.lastRefused(c.origin), run.prepared)
      if ('reject' in placed || 'stale' in placed) {
        if ('reject' in placed) run.rejected.push({ candidate: c, reason: placed.reject })
        else run.stale.push({ candidate: c, reason: placed.stale, minBase: placed.minBase })
        run.refusedNow.add(c.origin)
        continue
      }
      const hooks = r.io.hooks
      if (!hooks?.validates && !hooks?.notifies && !run.unfit) {
        // Nothing looks at this fragment's own states: it joins the run's open pass.
        try {
          ;(run.pass ??= new OpenPass(run.state, 'table')).apply(placed.op)
        } catch (error) {
          settle(run)
          run.unfit = true
          this.#refuseUnfit(run, c, error)
          continue
        }
        this.#add(run, c, placed, undefined, true)
        continue
      }
      let next: unknown
      try {
        next = applyOpAs(settle(run), placed.op, 'table')
      } catch (error) {
        this.#refuseUnfit(run, c, error)
        continue
      }
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

  #refuseUnfit(run: Run, c: Candidate, error: unknown): void {
    run.rejected.push({ candidate: c, reason: `its operation does not apply to the current document (${(error as Error).message})` })
    run.refusedNow.add(c.origin)
  }

  /**
   * Ends the run where it is: what it placed goes out now, the rest of its batch goes first in
   * the next one, after a turn of the event loop (nothing else starts a flush meanwhile).
   */
  #cut(run: Run): void {
    const r = this.replica
    const rest: Candidate[] = []
    for (const c of run.batch.slice(run.next)) {
      // As the run would have: a later change of an origin refused in it is sent back now.
      // (Carrying the refused origins into the next run instead sent back their resends too,
      // run after run, while the root was slow enough to cut every run.)
      if (run.refusedNow.has(c.origin)) run.stale.push({ candidate: c, reason: 'an earlier change of yours in the same batch was refused', minBase: 0 })
      else rest.push(c)
    }
    run.batch = run.batch.slice(0, run.next)
    this.#batch = rest.concat(this.#batch)
    for (const c of rest) this.#stagedBy.set(c.origin, (this.#stagedBy.get(c.origin) ?? 0) + 1)
    run.cut = true
    this.#scheduled = true
    const next = () => this.#flush()
    if (r.io.later) r.io.later(next)
    else r.io.defer(next)
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

  /** `shared`: the fragment was applied in the run's open pass (`next` is not known yet). */
  #add(run: Run, c: Candidate, placed: Placed, next: unknown, shared = false): void {
    const r = this.replica
    const before = shared ? undefined : run.state
    if (!shared) run.state = next
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
    run.prepared.push({ candidate: c, entry, envelope, state: next, before, shared })
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
    for (const c of run.batch) this.#markInFlight(c)
  }

  /** Stores the run (when the root has storage), then acknowledges, refuses and publishes it. */
  #commit(run: Run): void {
    const r = this.replica
    settle(run)
    const { prepared, rejected, stale } = run
    const storage = r.io.storage
    if (!storage || prepared.length === 0) {
      completeRun(r, this.#answers, prepared, rejected, stale, run.cut)
      if (run.held) this.#release()
      return
    }
    this.#committing = true
    for (const p of prepared) this.#markInFlight(p.candidate)
    // Refused ones count as in flight too, not as refused yet: the batch may still be dropped
    // (see resume), and a resend answered as handled meanwhile was acknowledged as if sequenced.
    for (const { candidate: c } of rejected) this.#markInFlight(c)
    const stored = prepared.map((p) => ({ seq: p.entry.seq, origin: p.candidate.origin, clientSeq: p.candidate.clientSeq, envelope: p.envelope }))
    const last = stored[stored.length - 1]!.seq
    storeAfter(r, stored[0]!.seq - 1)
      .then(() => storage.append(r.doc, stored))
      .then(() => void (r.storedUpTo = Math.max(last, r.storedUpTo ?? 0)))
      .then(
        () => {
          // This endpoint stopped being the root while the batch was being written (a stale
          // root re-joining the tree that went on without it): nobody was told of these seqs,
          // and the replica now follows another history. Applying them here would put our
          // fragments at seqs the real root gave to others; their origins resend them there.
          if (r.sequencer !== this) {
            r.io.logger.warn({ doc: r.doc, fragments: prepared.length }, 'no longer the root when a batch became durable; it is dropped, its changes go to the new root')
            return this.#release()
          }
          if (r.io.mayConfirm?.() === false) {
            this.#paused = true
            this.#parkedAt = { seq: stored[0]!.seq - 1, epoch: run.epoch, candidates: receivedBy(run) }
            this.#parked = () => {
              try {
                completeRun(r, this.#answers, prepared, rejected, stale, run.cut)
              } finally {
                this.#release()
              }
            }
            return void r.io.logger.warn({ doc: r.doc, fragments: prepared.length }, 'leadership unproven when a batch became durable; it is answered only if the lease is renewed')
          }
          try {
            completeRun(r, this.#answers, prepared, rejected, stale, run.cut)
          } finally {
            this.#release()
          }
        },
        (error: unknown) => {
          if (r.sequencer !== this) return this.#release()
          // Not durable, so not acknowledged: the origins are told and roll it back.
          r.io.logger.error({ err: error, doc: r.doc, fragments: prepared.length }, 'storage append failed; rejecting the batch')
          this.#chains.clear() // they followed entries that are not sequenced after all
          const reason = `the root could not store it (${(error as Error).message})`
          for (const p of prepared) this.#answers.refuse(p.candidate.origin, p.candidate.clientSeq, reason)
          for (const x of rejected) this.#answers.refuse(x.candidate.origin, x.candidate.clientSeq, x.reason)
          for (const x of stale) this.#answers.sendStale(x.candidate.origin, x.candidate.clientSeq, x.reason, x.minBase, x.candidate.base)
          this.#release()
        },
      )
  }

  /** Counts `c` as being written (see #inFlightUpTo). */
  #markInFlight(c: Candidate): void {
    this.#inFlightUpTo.set(c.origin, Math.max(c.clientSeq, this.#inFlightUpTo.get(c.origin) ?? 0))
  }

  /** Recounts #stagedBy after #batch was rebuilt. */
  #recount(): void {
    this.#stagedBy.clear()
    for (const c of this.#batch) this.#stagedBy.set(c.origin, (this.#stagedBy.get(c.origin) ?? 0) + 1)
  }

  /** A dropped batch's fragments go first again (see `requeued`). */
  #requeue(dropped: Candidate[]): void {
    if (dropped.length === 0) return
    this.#chains.clear() // they may follow entries of the dropped batch
    this.#batch = requeued(dropped, this.#batch, (origin) => this.#answers.handled(origin))
    this.#recount()
  }

  /** The sequencer takes new runs again; what arrived meanwhile goes out now (unless retired). */
  #release(): void {
    this.#committing = false
    this.#inFlightUpTo.clear()
    const waiting = this.#commitWaiters.splice(0)
    for (const wake of waiting) wake()
    if ((this.#batch.length > 0 || this.#merges.length > 0) && this.replica.sequencer === this) this.#flush()
  }

  /** Resolves when no batch is being written to storage. */
  idle(): Promise<void> {
    if (!this.#committing) return Promise.resolve()
    return new Promise((resolve) => this.#commitWaiters.push(resolve))
  }
}
