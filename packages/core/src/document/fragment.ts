import type { DocId, EndpointId } from '../ids.js'
import type { Op } from './ot.js'

/**
 * The delta of one change: its operation (an ot-json1 op: list insert/remove/move, object
 * keys, text edits), who made it and where it stands. A fragment made locally starts
 * unsequenced (`seq` 0) and learns its seq when the root's echo acknowledges it; `confirmed`
 * settles then (or rejects with `ChangeRejectedError`).
 */
export interface DocumentFragment {
  readonly doc: DocId
  readonly origin: EndpointId
  /** Per (origin, doc) counter, from 1. */
  readonly clientSeq: number
  /** The root's sequence number; 0 while a local change is pending. */
  readonly seq: number
  /** The seq of the state this change was made on (as sent; 0 before it was sent). */
  readonly baseSeq: number
  /**
   * The change as an ot-json1 operation: as made, for a local change; as sequenced (already
   * transformed over concurrent changes) for a remote one.
   */
  readonly op: Op
  /** True for changes made by this endpoint. */
  readonly local: boolean
  /** Resolves with the seq once sequenced by the root; rejects if the root refused it. */
  readonly confirmed: Promise<number>
}

/**
 * The copy of a change a leaf's storage holds before it goes up (see OwnChanges.arm): with
 * leaf storage, a change is sent only in a form, and on a base, that a durable save holds, so
 * a restarted process resends exactly what the old one may have sent.
 */
export interface Armed {
  readonly base: number
  readonly payload: Uint8Array
  /** The op it encodes: while `op` is still this very one, the change was not rewritten since. */
  readonly op: Op
  /** The refusals of ours it was made after (in the payload too). */
  readonly rejections: number
  /** Set once a save that holds it is durable: then it may go. */
  durable: boolean
}

/** The mutable record behind a local fragment. */
export interface PendingFragment {
  fragment: DocumentFragment & { seq: number; baseSeq: number }
  /** The op as it stands now: rebased over every sequenced fragment applied since it was made. */
  op: Op
  /** What went (or goes) on the wire: the op as sent, relative to `fragment.baseSeq`. */
  payload: Uint8Array
  /** Whether it has been sent in its current payload (false: held, see Replica). */
  sent: boolean
  /** True once rebased over a foreign op after it was sent: later changes wait (see Replica). */
  dirty: boolean
  /**
   * Sent before a snapshot jump (see snapshot-jump.ts) and not answered: the root sequences the
   * copy sent then, placed on its own history at that copy's base, and `op` (rebased over the
   * jump for the visible state) is only a guess at the form it takes there. Later changes wait
   * for its echo, which tells the form, and are then carried onto it (Replica.#acknowledgeHead).
   */
  inDoubt: boolean
  /**
   * The op encoded when the change was made (its size is checked then), with the refusal count
   * it carries: sent as is while `op` and that count are unchanged, so a change is encoded once.
   */
  encoded: { op: Op; rejections: number; payload: Uint8Array } | undefined
  /** Not sent yet, and the copy to send is fixed (see Armed); undefined: none yet. */
  armed: Armed | undefined
  /** The root asked for a base at least this recent (a stale or rejected chain). */
  minBase: number
  /** ... and made after we learned that our change with this clientSeq was refused. */
  minRefused: number
  /** The highest refused clientSeq of ours we knew of when it was sent (travels in the payload). */
  sentRefused: number
  lastSentAt: number
  resolve(seq: number): void
  reject(error: Error): void
}

/** The payload to send `p` as now: the one encoded when it was made, if it still says the same. */
export function payloadOf(p: PendingFragment, rejections: number, encode: (op: Op, rejections: number) => Uint8Array): Uint8Array {
  const e = p.encoded
  if (e !== undefined && e.op === p.op && e.rejections === rejections) return e.payload
  return encode(p.op, rejections)
}

export function remoteFragment(doc: DocId, origin: EndpointId, clientSeq: number, seq: number, baseSeq: number, op: Op): DocumentFragment {
  return { doc, origin, clientSeq, seq, baseSeq, op, local: false, confirmed: Promise.resolve(seq) }
}

export function pendingFragment(doc: DocId, origin: EndpointId, clientSeq: number, op: Op, encoded?: PendingFragment['encoded']): PendingFragment {
  let resolve!: (seq: number) => void
  let reject!: (error: Error) => void
  const confirmed = new Promise<number>((res, rej) => {
    resolve = res
    reject = rej
  })
  // Nobody has to listen: a rejection is also reported as a 'rejected' event.
  confirmed.catch(() => {})
  const fragment = { doc, origin, clientSeq, seq: 0, baseSeq: 0, op, local: true, confirmed }
  return {
    fragment,
    op,
    payload: new Uint8Array(0),
    sent: false,
    dirty: false,
    inDoubt: false,
    encoded,
    armed: undefined,
    minBase: 0,
    minRefused: 0,
    sentRefused: 0,
    lastSentAt: 0,
    resolve: (seq) => {
      fragment.seq = seq
      resolve(seq)
    },
    reject,
  }
}
