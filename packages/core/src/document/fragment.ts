import type { Patch } from 'immer'
import type { DocId, EndpointId } from '../ids.js'

/**
 * The delta of one change: the immer patches it made, who made it and where it stands.
 * A fragment made locally starts unsequenced (`seq` 0) and learns its seq when the root's
 * echo acknowledges it; `confirmed` settles then (or rejects with `ChangeRejectedError`).
 */
export interface DocumentFragment {
  readonly doc: DocId
  readonly origin: EndpointId
  /** Per (origin, doc) counter, from 1. */
  readonly clientSeq: number
  /** The root's sequence number; 0 while a local change is pending. */
  readonly seq: number
  readonly patches: readonly Patch[]
  /** True for changes made by this endpoint. */
  readonly local: boolean
  /** Resolves with the seq once sequenced by the root; rejects if the root refused it. */
  readonly confirmed: Promise<number>
}

/** The mutable record behind a local fragment. */
export interface PendingFragment {
  fragment: DocumentFragment & { seq: number }
  payload: Uint8Array
  inverse: readonly Patch[]
  lastSentAt: number
  resolve(seq: number): void
  reject(error: Error): void
}

export function remoteFragment(doc: DocId, origin: EndpointId, clientSeq: number, seq: number, patches: Patch[]): DocumentFragment {
  return { doc, origin, clientSeq, seq, patches, local: false, confirmed: Promise.resolve(seq) }
}

export function pendingFragment(doc: DocId, origin: EndpointId, clientSeq: number, patches: Patch[], inverse: Patch[], payload: Uint8Array): PendingFragment {
  let resolve!: (seq: number) => void
  let reject!: (error: Error) => void
  const confirmed = new Promise<number>((res, rej) => {
    resolve = res
    reject = rej
  })
  // Nobody has to listen: a rejection is also reported as a 'rejected' event.
  confirmed.catch(() => {})
  const fragment = { doc, origin, clientSeq, seq: 0, patches, local: true, confirmed }
  return {
    fragment,
    payload,
    inverse,
    lastSentAt: 0,
    resolve: (seq) => {
      fragment.seq = seq
      resolve(seq)
    },
    reject,
  }
}
