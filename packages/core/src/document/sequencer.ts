import type { Patch } from 'immer'
import { BadFrameError } from '../errors.js'
import type { EndpointId } from '../ids.js'
import { encodeMessage, stampSequenced, type Message } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import { decodePatches } from '../protocol/patches.js'
import { RefusalCodec } from '../protocol/payloads.js'
import { applyBatch } from './apply.js'
import { remoteFragment, type DocumentFragment, type PendingFragment } from './fragment.js'
import type { Replica } from './replica.js'

interface Prepared {
  candidate: Candidate
  seq: number
  envelope: Uint8Array
}

interface Candidate {
  /** The received envelope, stamped rather than re-encoded when sequenced. */
  raw?: Uint8Array | undefined
  origin: EndpointId
  clientSeq: number
  patches: Patch[]
  payload: Uint8Array
}

const REJECTION_MEMORY = 1024

/**
 * The root's half of a replica: gives every accepted fragment the document's next seq,
 * exactly once per (origin, clientSeq), and publishes it. Fragments that arrive in one tick
 * are applied in one immer pass.
 */
export class Sequencer {
  /** Highest rejected clientSeq per origin; sequenced ones are in replica.clientSeqs (from the log). */
  readonly #rejectedUpTo = new Map<EndpointId, number>()
  readonly #rejections = new Map<string, string>()
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

  constructor(readonly replica: Replica) {}

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

  /** The root's own change: sequenced at once, nothing to check or send back. */
  sequenceLocal(p: PendingFragment, newState: unknown): void {
    const r = this.replica
    r.confirmed = newState
    const seq = this.#commit(r.io.self, p.fragment.clientSeq, p.payload)
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
      const reason = this.#rejections.get(`${origin}:${clientSeq}`)
      if (reason !== undefined) this.#reject(origin, clientSeq, reason)
      else this.#reply(Kind.ACK, origin, clientSeq, r.log.find(origin, clientSeq) ?? 0)
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
    let patches: Patch[]
    try {
      patches = decodePatches(message.payload)
    } catch (error) {
      this.#markRejected(origin, clientSeq)
      this.#reject(origin, clientSeq, error instanceof BadFrameError ? `its patches are malformed (${error.reason})` : String(error))
      return
    }
    this.#batch.push({ origin, clientSeq, patches, payload: message.payload, raw: message.kind === Kind.FRAGMENT && message.seq === 0 ? message.raw : undefined })
    this.#stagedBy.set(origin, (this.#stagedBy.get(origin) ?? 0) + 1)
    if (!this.#scheduled) {
      this.#scheduled = true
      r.io.defer(() => this.flush())
    }
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
   * Sequences everything staged since the last flush in one immer pass. With storage, the
   * batch is appended (durable) before anything is published or acknowledged; batches that
   * arrive meanwhile wait and go out together, which is group commit under load.
   */
  flush(): void {
    this.#scheduled = false
    if (this.#committing) return
    const batch = this.#batch
    this.#batch = []
    this.#stagedBy.clear()
    if (batch.length === 0) return
    const r = this.replica
    const { state, failed } = applyBatch(r.confirmed, batch.map((c) => c.patches))
    const failedSet = new Set(failed)
    const prepared: Prepared[] = []
    let seq = r.seq
    const epoch = r.io.epoch()
    batch.forEach((c, i) => {
      if (failedSet.has(i)) return
      seq++
      const envelope = c.raw ? stampSequenced(c.raw, r.io.self, seq, epoch) : encodeMessage({ kind: Kind.FRAGMENT, origin: c.origin, sender: r.io.self, doc: r.doc, clientSeq: c.clientSeq, seq, epoch, payload: c.payload })
      prepared.push({ candidate: c, seq, envelope })
    })
    const rejected = batch.filter((_, i) => failedSet.has(i))
    const storage = r.io.storage
    if (!storage || prepared.length === 0) {
      this.#complete(state, prepared, rejected, epoch)
      return
    }
    this.#committing = true
    for (const c of batch) this.#inFlightUpTo.set(c.origin, Math.max(c.clientSeq, this.#inFlightUpTo.get(c.origin) ?? 0))
    const stored = prepared.map((p) => ({ seq: p.seq, origin: p.candidate.origin, clientSeq: p.candidate.clientSeq, envelope: p.envelope }))
    storage
      .append(r.doc, stored)
      .then(
        () => this.#complete(state, prepared, rejected, epoch),
        (error: unknown) => {
          // Not durable, so not acknowledged: the origins are told and roll it back.
          r.io.logger.error({ err: error, doc: r.doc, fragments: prepared.length }, 'storage append failed; rejecting the batch')
          for (const p of prepared) this.#markRejected(p.candidate.origin, p.candidate.clientSeq)
          const reason = `the root could not store it (${(error as Error).message})`
          for (const p of prepared) this.#reject(p.candidate.origin, p.candidate.clientSeq, reason)
          for (const c of rejected) this.#rejectUnapplied(c)
        },
      )
      .finally(() => {
        this.#committing = false
        this.#inFlightUpTo.clear()
        const waiting = this.#commitWaiters.splice(0)
        for (const wake of waiting) wake()
        if (this.#batch.length > 0) this.flush()
      })
  }

  /** Resolves when no batch is being written to storage. */
  idle(): Promise<void> {
    if (!this.#committing) return Promise.resolve()
    return new Promise((resolve) => this.#commitWaiters.push(resolve))
  }

  #complete(state: unknown, prepared: Prepared[], rejected: Candidate[], epoch: number): void {
    const r = this.replica
    if (prepared.length > 0) r.confirmed = state
    const envelopes: Uint8Array[] = []
    const applied: DocumentFragment[] = []
    for (const { candidate: c, seq, envelope } of prepared) {
      r.seq = seq
      r.clientSeqs.set(c.origin, c.clientSeq)
      r.log.append({ seq, origin: c.origin, clientSeq: c.clientSeq, epoch, envelope })
      r.io.stats.sequenced++
      envelopes.push(envelope)
      // The root's own changes (pending while storage writes, or from before a promotion).
      if (c.origin === r.io.self) r.acknowledgeOwn(c.clientSeq, seq)
      else applied.push(remoteFragment(r.doc, c.origin, c.clientSeq, seq, c.patches))
    }
    for (const c of rejected) this.#rejectUnapplied(c)
    r.visible = r.pending.length === 0 ? r.confirmed : applyBatch(r.confirmed, r.pending.map((p) => p.fragment.patches)).state
    if (envelopes.length > 0) r.io.publishFragments(r.doc, envelopes)
    if (applied.length > 0) r.events.emit('change', r.visible, applied[applied.length - 1], applied)
    if (prepared.length > 0) r.afterSequenced()
  }

  #rejectUnapplied(c: Candidate): void {
    this.#markRejected(c.origin, c.clientSeq)
    this.#reject(c.origin, c.clientSeq, 'its patches do not apply to the current document (a path no longer resolves)')
  }

  #commit(origin: EndpointId, clientSeq: number, payload: Uint8Array): number {
    const r = this.replica
    const seq = ++r.seq
    const epoch = r.io.epoch()
    const envelope = encodeMessage({ kind: Kind.FRAGMENT, origin, sender: r.io.self, doc: r.doc, clientSeq, seq, epoch, payload })
    r.clientSeqs.set(origin, clientSeq)
    r.log.append({ seq, origin, clientSeq, epoch, envelope })
    r.io.stats.sequenced++
    r.io.publishFragments(r.doc, [envelope])
    r.afterSequenced()
    return seq
  }

  #reject(origin: EndpointId, clientSeq: number, reason: string): void {
    const r = this.replica
    r.io.stats.rejected++
    this.#rejections.set(`${origin}:${clientSeq}`, reason)
    if (this.#rejections.size > REJECTION_MEMORY) this.#rejections.delete(this.#rejections.keys().next().value!)
    if (origin === r.io.self) {
      r.rejected(clientSeq, reason)
      return
    }
    const payload = RefusalCodec.encode({ code: 'ERR_CHANGE_REJECTED', reason })
    r.io.sendTo(origin, encodeMessage({ kind: Kind.REJECT, origin: r.io.self, doc: r.doc, clientSeq, epoch: r.io.epoch(), payload }))
  }

  #reply(kind: Kind, to: EndpointId, clientSeq: number, seq: number): void {
    const r = this.replica
    r.io.sendTo(to, encodeMessage({ kind, origin: r.io.self, doc: r.doc, clientSeq, seq, epoch: r.io.epoch() }))
  }
}
