import type { EndpointId } from '../ids.js'
import { decodeMessage } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import { decodeFragmentBody, type FragmentBody } from '../protocol/ops.js'
import { transformOp, type Op } from './ot.js'

/**
 * A branch: the fragments another history sequenced after a fork point it shares with this
 * root's (the tree that lost a same-epoch tie-break, a stale root re-joining). Each was
 * sequenced on *that* history's state, after the others' changes there, so sent again as made
 * on this root's head a list insert lands elsewhere or out of bounds: refused, and a change
 * whose `confirmed` had resolved was gone (issue 12). A root merges a branch instead: the
 * branch, in its order, is carried past what this root sequenced after the fork (see
 * `rebaseBranch`), and each fragment keeps its origin and clientSeq.
 */
export interface BranchFragment {
  seq: number
  origin: EndpointId
  clientSeq: number
  body: FragmentBody & { op: Op }
  payload: Uint8Array
}

/** The branch's fragments, checked: sequenced FRAGMENTs of `doc` at fork+1, fork+2, …; or why not. */
export function readBranch(doc: string, fork: number, envelopes: readonly Uint8Array[]): BranchFragment[] | string {
  const out: BranchFragment[] = []
  for (const bytes of envelopes) {
    let m
    let body: FragmentBody
    try {
      m = decodeMessage(bytes, Infinity)
      body = decodeFragmentBody(m.payload)
    } catch (error) {
      return `a fragment could not be read (${(error as Error).message})`
    }
    if (m.kind !== Kind.FRAGMENT || m.doc !== doc) return 'it holds something other than fragments of this document'
    if (m.seq !== fork + out.length + 1) return `its fragments do not follow the fork in order (seq ${m.seq})`
    if (body.patches !== undefined) return 'it holds a fragment from before operations'
    out.push({ seq: m.seq, origin: m.origin, clientSeq: m.clientSeq, body, payload: m.payload })
  }
  return out
}

/**
 * One sequence of ops carried past another, both made on the same state (the fork): the
 * branch's ops rewritten so that, applied in order after `over`, they do what they did after
 * the fork. The branch is the later side (as if sequenced after `over`), the same rule as a
 * fragment carried past what was sequenced since its base.
 */
export function rebaseBranch(branch: readonly Op[], over: readonly Op[]): Op[] {
  const rest = [...over]
  return branch.map((op) => {
    let out = op
    for (let j = 0; j < rest.length; j++) {
      const f = rest[j]!
      rest[j] = transformOp(f, out, false)
      out = transformOp(out, f, true)
    }
    return out
  })
}
