import type { DocId, EndpointId } from '../ids.js'
import { decodeMessage } from '../protocol/codec.js'
import { decodeFragmentBody, encodeOp } from '../protocol/ops.js'
import { applyOp, applyOps, invertOp, transformOp, transformPast, type Op } from './ot.js'
import { diffToOp, type Identity } from './diff.js'
import type { DocLog } from './doc-log.js'
import { pendingFragment, type PendingFragment } from './fragment.js'

/**
 * A replica that takes a snapshot instead of fragments jumps over fragments it never saw.
 * What it holds of its own must land on the snapshot: its changes the root already handled
 * (they leave pending), its sequenced changes the root lacks (they become pending again) and
 * the pending changes made on the old state (rebased onto the snapshot). This file holds
 * those steps; Replica.applySnapshot runs them: `planJump` while the old history is still
 * there, `JumpPlan.land` once the snapshot's state replaced it.
 */

/** What planJump reads of a replica before the snapshot replaces its state and log. */
export interface JumpSource {
  readonly doc: DocId
  readonly self: EndpointId
  readonly ready: boolean
  readonly log: DocLog
  readonly confirmed: unknown
  readonly pending: readonly PendingFragment[]
}

/** Our changes and others' to carry onto the snapshot, read off the old history. */
export interface JumpPlan {
  /**
   * Carries everything onto `state` (the snapshot's): our rescued changes (returned, to go
   * first among the pending ones), the orphans' payloads, and `kept` (the pending changes the
   * snapshot lacks; see rebaseOverJump for `keepSent`).
   */
  land(state: unknown, kept: readonly PendingFragment[], keepSent: boolean): PendingFragment[]
}

/** Reads what must land on a snapshot whose count for us is `mine`, before it replaces `r`'s history. */
export function planJump(r: JumpSource, mine: number, orphans: readonly Orphan[]): JumpPlan {
  // Our log may hold own changes the root lacks even when the replica is not ready: it was
  // when a fragment that did not apply sent it to resync, and those changes are confirmed.
  const rescued = r.ready || r.log.length > 0 ? ownBeyond(r.log, r.doc, r.self, mine, r.pending) : []
  // What the remaining pending changes were made on: the old confirmed state plus our changes
  // the snapshot already contains (they leave pending).
  const madeOn = r.ready && r.pending.length > 0 ? madeOnBefore(r.confirmed, r.pending, mine) : undefined
  // Our rescued changes and the orphans, made again on the old head: what each set applies to there.
  const own: Rescued[] = rescued.map((p) => ({ origin: r.self, clientSeq: p.fragment.clientSeq, op: p.op }))
  const ownOn = own.length > 0 ? rescueOnHead(r.log, own, r.confirmed) : undefined
  const others = orphansToRescue(orphans)
  const othersOn = others.rescued.length > 0 ? rescueOnHead(r.log, others.rescued, r.confirmed) : undefined
  return {
    land(state, kept, keepSent) {
      if (ownOn !== undefined) {
        carryOnto(own, ownOn, state)
        rescued.forEach((p, i) => (p.op = own[i]!.op))
      }
      if (othersOn !== undefined) {
        carryOnto(others.rescued, othersOn, state)
        others.writeBack()
      }
      // The kept changes go after our rescued ones, and what they were made on holds those already.
      if (madeOn !== undefined) {
        const target =
          rescued.length > 0
            ? applyOps(
                state,
                rescued.map((p) => p.op),
              ).state
            : state
        rebaseOverJump(kept, madeOn, target, keepSent)
      }
      return rescued
    },
  }
}

/** Our own sequenced changes in the log beyond what the root has, as pending changes again. */
export function ownBeyond(log: DocLog, doc: DocId, self: EndpointId, rootHas: number, pending: readonly PendingFragment[]): PendingFragment[] {
  const pendingSeqs = new Set(pending.map((p) => p.fragment.clientSeq))
  const out: PendingFragment[] = []
  for (const e of log.entriesAfter(0)) {
    if (e.origin !== self || e.clientSeq <= rootHas || pendingSeqs.has(e.clientSeq)) continue
    const body = decodeFragmentBody(decodeMessage(e.envelope, Infinity).payload)
    if (body.patches !== undefined) continue // from before operations: its position is unknown here
    out.push(pendingFragment(doc, self, e.clientSeq, body.op))
  }
  return out
}

/** A change the old history sequenced and the snapshot lacks, to be made again on it. */
export interface Rescued {
  readonly origin: EndpointId
  readonly clientSeq: number
  op: Op
}

/**
 * Changes the old history sequenced and the new one lacks (ours, see ownBeyond, and others'
 * a relay passes up for authors that may be gone) were each sequenced on the state of its seq
 * there: sent again as they are, on a head that lacks that history, a list insert lands
 * elsewhere or out of bounds and is refused — a confirmed change lost. So they are made
 * pending changes on the old head: each carried past the changes the log holds after it
 * (which saw it: where it stands now), and the old head without them worked out by undoing
 * them in reverse. Rewrites their ops and returns that state, which they apply to in order;
 * then they are carried onto the snapshot as any pending change (see carryOnto). Undefined
 * when that cannot be worked out (a change that does not carry or undo): they go as they are.
 */
export function rescueOnHead(log: DocLog, rescued: readonly Rescued[], head: unknown): unknown {
  const index = new Map(rescued.map((r, i) => [`${r.origin}/${r.clientSeq}`, i]))
  const later: Op[][] = rescued.map(() => [])
  let seen = -1
  for (const e of log.entriesAfter(0)) {
    const i = index.get(`${e.origin}/${e.clientSeq}`)
    if (i !== undefined) {
      seen = Math.max(seen, i)
      continue
    }
    if (seen < 0) continue
    const body = decodeFragmentBody(decodeMessage(e.envelope, Infinity).payload)
    if (body.patches !== undefined) return undefined
    for (let k = 0; k <= seen; k++) later[k]!.push(body.op)
  }
  try {
    const ops = rescued.map((r, i) => later[i]!.reduce((op, o) => transformOp(op, o, false), r.op))
    let without = head
    for (let i = ops.length - 1; i >= 0; i--) without = applyOp(without, invertOp(ops[i]!, without))
    rescued.forEach((r, i) => (r.op = ops[i]!))
    return without
  } catch {
    return undefined
  }
}

/** Another endpoint's change our log holds and the snapshot lacks, as passed up for it (see orphansBeyond). */
export interface Orphan {
  readonly origin: EndpointId
  readonly clientSeq: number
  /** The FRAGMENT payload: as sequenced over there, then as made again on the snapshot. */
  payload: Uint8Array
}

/** The orphans to rescue (those with an op), and how their rescued ops go back into their payloads. */
export function orphansToRescue(orphans: readonly Orphan[]): { rescued: Rescued[]; writeBack(): void } {
  const picked: Array<{ orphan: Orphan; rejections: number; r: Rescued }> = []
  for (const orphan of orphans) {
    let body
    try {
      body = decodeFragmentBody(orphan.payload)
    } catch {
      continue // passed up as it is; the root refuses it with the reason
    }
    if (body.patches === undefined) picked.push({ orphan, rejections: body.rejections, r: { origin: orphan.origin, clientSeq: orphan.clientSeq, op: body.op } })
  }
  return {
    rescued: picked.map((p) => p.r),
    writeBack: () => {
      for (const p of picked) p.orphan.payload = encodeOp(p.r.op, p.rejections)
    },
  }
}

/**
 * What the pending changes left after the jump were made on: the old confirmed state plus our
 * changes the snapshot already contains (up to clientSeq `mine`; they leave pending).
 */
export function madeOnBefore(confirmed: unknown, pending: readonly PendingFragment[], mine: number): unknown {
  let madeOn = confirmed
  for (const p of pending) {
    if (p.fragment.clientSeq > mine) break
    try {
      madeOn = applyOp(madeOn, p.op)
    } catch {
      // left out
    }
  }
  return madeOn
}

/**
 * Carries `pending` (made in order on `madeOn`) onto `target`: over the difference between
 * the two (list elements paired by position, strings by text diff). Rarely exact, never
 * silently wrong: a change that no longer applies is refused by the root with the reason.
 */
export function carryOnto(pending: ReadonlyArray<{ op: Op }>, madeOn: unknown, target: unknown): void {
  let jump: Op = null
  try {
    jump = diffToOp(madeOn, target, jumpIdentity(madeOn, target))
  } catch {
    jump = null
  }
  if (jump === null) return
  for (const p of pending) {
    try {
      ;({ op: p.op, over: jump } = transformPast(p.op, jump))
    } catch {
      // it stays as it was; the root decides
    }
  }
}

/**
 * For the jump's diff: which element of each list in `target` (the snapshot's state, decoded:
 * none of its objects is one of ours) stands for which of ours, at every place both states
 * hold a list. An element equal to one of ours is that one; an object that differs from one
 * of ours in fewer than half of its entries is that one, edited (so pending edits inside it
 * follow it); any other is new, and ours left unmatched went. Without this the diff paired
 * what went with what came between the same neighbours, by position alone, as one element
 * edited in place: a pending removal of an element another author removed meanwhile then
 * removed the one inserted next to it — a confirmed change lost (leaf-restart's jump
 * interleavings, seeds 262 and 365 of 1,000 for plain values; most seeds for objects).
 */
export function jumpIdentity(madeOn: unknown, target: unknown): Identity {
  const identity: Identity = new Map()
  const shared = new Set<object>()
  const walk = (a: unknown, b: unknown): void => {
    if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null || a === b) return
    if (Array.isArray(a) !== Array.isArray(b)) return
    if (!Array.isArray(a)) {
      for (const key of Object.keys(b)) if (Object.prototype.hasOwnProperty.call(a, key)) walk((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])
      return
    }
    // One list at two places (shared) cannot say which it stands for there: it is left to the diff.
    if (shared.has(a) || identity.has(a)) {
      identity.delete(a)
      shared.add(a)
      return
    }
    const known = matchList(a, b as unknown[])
    identity.set(a, known)
    known.forEach((old, j) => {
      if (old !== (b as unknown[])[j]) walk(old, (b as unknown[])[j])
    })
  }
  walk(madeOn, target)
  return identity
}

/** For each element of `after`, the element of `before` it stands for, or itself when it is new (see jumpIdentity). */
function matchList(before: readonly unknown[], after: readonly unknown[]): unknown[] {
  const key = (v: unknown): unknown => (typeof v === 'object' && v !== null ? JSON.stringify(v) : v)
  const byValue = new Map<unknown, number[]>()
  for (let i = before.length - 1; i >= 0; i--) {
    const k = key(before[i])
    const list = byValue.get(k)
    if (list) list.push(i)
    else byValue.set(k, [i])
  }
  const used = new Array<boolean>(before.length).fill(false)
  const from = after.map((v) => {
    const i = byValue.get(key(v))?.pop() ?? -1
    if (i >= 0) used[i] = true
    return i
  })
  // Objects left: each takes an unused one of ours it differs from in fewer than half of its
  // entries, looked for from where the element before it stood, within a budget (a list whose
  // every object changed must not cost a comparison per pair).
  let budget = SIMILARITY_CHECKS
  let near = 0
  for (let j = 0; j < after.length; j++) {
    if (from[j]! >= 0) {
      near = from[j]! + 1
      continue
    }
    const v = after[j]
    if (!isRecord(v)) continue
    for (let k = 0; k < before.length && budget > 0; k++, budget--) {
      const i = (near + k) % before.length
      const o = before[i]
      if (used[i] || !isRecord(o) || !similar(o, v)) continue
      used[i] = true
      from[j] = i
      near = i + 1
      break
    }
  }
  return after.map((v, j) => (from[j]! >= 0 ? before[from[j]!] : v))
}

/** How many pairs of objects matchList compares at most per list. */
const SIMILARITY_CHECKS = 20_000

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** More than half of the keys of either object hold equal values in both. */
function similar(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)])
  let equal = 0
  for (const k of keys) if (k in a && k in b && JSON.stringify(a[k]) === JSON.stringify(b[k])) equal++
  return equal * 2 > keys.size
}

/**
 * Rebases the pending changes left after a jump onto the snapshot (`target`: the snapshot plus
 * our rescued changes, which go first). A change never sent goes on the new seq in its
 * rebased form. One already sent may still be sequenced as sent: its copy can be on its way
 * to the root or held there, and is resent as it was. Sending a second form under the same
 * clientSeq made the root sequence the first to arrive while our later changes were made on
 * the other, and a text edit then reached past the end of its string (the failover test,
 * issue 12). So with `keepSent` (not at a root, whose own sequencer answers in process) such a
 * change stays sent, in doubt, and the changes after it wait for its echo (Replica.#acknowledgeHead).
 * A leaf's storage keeps that doubt with the copy (leafRecord), so a restart goes on the same way.
 */
export function rebaseOverJump(pending: readonly PendingFragment[], madeOn: unknown, target: unknown, keepSent: boolean): void {
  carryOnto(pending, madeOn, target)
  for (const p of pending) {
    if (keepSent && p.sent) {
      p.inDoubt = true
      p.dirty = true
    } else {
      // Not sent: a copy fixed for it on the old state goes no more; one is fixed on the snapshot.
      p.sent = false
      p.armed = undefined
    }
  }
}
