import type { EndpointId } from '../ids.js'
import type { OpenPass } from './draft-apply.js'
import type { HistoryEntry } from './op-history.js'
import type { Candidate } from './placement.js'

/** A fragment placed in a run: what it becomes once the run is answered. */
export interface Prepared {
  candidate: Candidate
  entry: HistoryEntry
  envelope: Uint8Array
  /** The confirmed state once this one is applied (in a shared pass: once the whole pass is). */
  state: unknown
  /** The confirmed state before it (undefined in a shared pass: nothing reads it there). */
  before: unknown
  /** Applied in the run's shared pass: `state` is the state after the whole pass. */
  shared: boolean
}

/** A fragment the run refuses, and why. */
export type Refused = { candidate: Candidate; reason: string }
/** A fragment the run sends back to be rebased (ERR_STALE_BASE, or ERR_DIVERGED). */
export type SentBack = { candidate: Candidate; reason: string; minBase: number }

/** One flush: the batch taken, and what became of each fragment so far. */
export interface Run {
  batch: Candidate[]
  /** Index of the next fragment to place. */
  next: number
  prepared: Prepared[]
  rejected: Refused[]
  stale: SentBack[]
  /** Origins refused in this run: their later fragments here were made on top of it. */
  refusedNow: Set<EndpointId>
  /** The confirmed state once the prepared fragments are applied (see `pass`), and its seq. */
  state: unknown
  /**
   * With no hook that looks at each fragment's states: the fragments placed since `state`,
   * applied in one open pass, so each container is copied once per run, not once per fragment
   * (a 400-key map per fragment was the root's top cost). Closed by `settle`.
   */
  pass?: OpenPass<unknown> | undefined
  /**
   * An op did not apply in the open pass (which then re-applied every op before it): the rest
   * of the run applies fragment by fragment, so a batch full of unfit ops costs no more than
   * before the pass, not a re-apply per unfit op.
   */
  unfit?: boolean
  seq: number
  epoch: number
  /** True once the run waited for a hook (it holds the sequencer until it completes). */
  held: boolean
  /** True when the run was cut short (SLICE_MS): the rest of its batch follows in the next. */
  cut: boolean
}

/** A run of `batch` starting at the confirmed `state` of `seq`. */
export function newRun(batch: Candidate[], state: unknown, seq: number, epoch: number): Run {
  return { batch, next: 0, prepared: [], rejected: [], stale: [], refusedNow: new Set(), state, seq, epoch, held: false, cut: false }
}

/** Closes the run's open pass (if any): `run.state` and its fragments' states are then final. */
export function settle(run: Run): unknown {
  if (!run.pass) return run.state
  const state = run.pass.finish()
  run.pass = undefined
  run.state = state
  for (let i = run.prepared.length - 1; i >= 0 && run.prepared[i]!.shared && run.prepared[i]!.state === undefined; i--) run.prepared[i]!.state = state
  return state
}

/**
 * The fragments a run took from the batch, as received and in their order: its placed
 * prefix, then what a cut sent back with it. None for a merged branch (its changes come as
 * the resends that follow it).
 */
export function receivedBy(run: Run): Candidate[] {
  if (run.batch.length === 0) return []
  const taken = new Set(run.batch)
  return run.batch.concat(run.stale.map((x) => x.candidate).filter((c) => !taken.has(c)))
}

/**
 * A dropped batch's fragments put back in front of what was staged behind them. Later
 * fragments of the same origins were staged while it was being written, counting it as in
 * flight; sequenced without it they went ahead of it, and its change, resent, was then taken
 * for one sequenced earlier and acknowledged though no history held it (sharded chaos seed 155).
 * Only what follows each origin's last handled change (`handled`) on the history the root holds
 * now is kept (recovery may have brought another): the rest is a gap, asked again as any gap is.
 */
export function requeued(dropped: Candidate[], staged: Candidate[], handled: (origin: EndpointId) => number): Candidate[] {
  const again = new Set(dropped.map((c) => `${c.origin}:${c.clientSeq}`))
  const next = new Map<EndpointId, number>()
  return dropped.concat(staged.filter((c) => !again.has(`${c.origin}:${c.clientSeq}`))).filter((c) => {
    const expected = next.get(c.origin) ?? handled(c.origin) + 1
    if (c.clientSeq !== expected) return false
    next.set(c.origin, expected + 1)
    return true
  })
}
