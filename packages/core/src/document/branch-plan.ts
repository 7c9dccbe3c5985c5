import type { EndpointId } from '../ids.js'
import { readBranch, rebaseBranch, type BranchFragment } from './branch.js'
import type { Op } from './ot.js'
import type { Replica } from './replica.js'

/** A branch the root can merge: its fragments, their ops carried past ours, and each origin's last clientSeq in it. */
export interface MergePlan {
  branch: BranchFragment[]
  ops: Op[]
  /** How many entries of our history since the fork it was carried past. */
  over: number
  upTo: Map<EndpointId, number>
}

/**
 * Whether the branch sequenced after `fork` (`chain`: its history fingerprint there) can be
 * merged here, all or nothing: only when this root's history at the fork is the branch's and
 * its op history still reaches back there, no validate hook must see each change, and each
 * fragment follows its origin's last change this root handled (`handled`). Otherwise why not:
 * its changes then come as the resends that follow it.
 */
export function planMerge(r: Replica, fork: number, chain: number, envelopes: readonly Uint8Array[], handled: (origin: EndpointId) => number): MergePlan | string {
  // Each change must pass the validate hook on its own: as resends, they do.
  if (r.io.hooks?.validates) return 'the validate hook sees each change'
  const over = fork <= r.seq && chain !== 0 && r.log.chainAt(fork) === chain ? r.history.since(fork) : undefined
  if (!over) return "this root's history at the fork is not known to be the branch's"
  const branch = readBranch(r.doc, fork, envelopes)
  if (typeof branch === 'string') return branch
  // Only changes this root has not handled, each following its origin's last.
  const upTo = new Map<EndpointId, number>()
  for (const f of branch) {
    if (f.clientSeq !== (upTo.get(f.origin) ?? handled(f.origin)) + 1) return `it holds a change this root handled, or one after a gap (${f.origin}:${f.clientSeq})`
    upTo.set(f.origin, f.clientSeq)
  }
  const ops = rebaseBranch(
    branch.map((f) => f.body.op),
    over.map((e) => e.op),
  )
  return { branch, ops, over: over.length, upTo }
}
