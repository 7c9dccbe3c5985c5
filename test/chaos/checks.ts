/**
 * What a chaos run asserts once everything is healed and quiet, on every live replica:
 *   - one root: exactly one member is `host`;
 *   - attached: every other member has a parent chain of live members up to that root (from
 *     the children each parent reports), with no loop and no member claimed by two parents,
 *     and none of them is waiting for a lost parent;
 *   - equal: the same seq, nothing pending, the same state;
 *   - nothing lost: every change whose `confirmed` resolved is present exactly once;
 *   - workers: every member's note handler (a worker thread) registered, ran, and never failed;
 *   - coordinated on etcd, over the whole run: never two members root at one epoch.
 * Each failed check is one readable violation naming the members and tokens involved.
 */
import { occurrences, type ChaosDoc } from './doc.js'
import type { Line } from './member-process.js'

export interface Violation {
  check: 'one-root' | 'attached' | 'equal' | 'confirmed-lost' | 'confirmed-duplicated' | 'unresponsive' | 'worker-failed' | 'two-roots-one-epoch'
  message: string
}

const sample = (items: string[], n = 8) => `${items.slice(0, n).join(', ')}${items.length > n ? `, … (${items.length} in all)` : ''}`

/** Tree checks on status (or dump) lines of every member: one root, everyone attached. */
export function treeViolations(statuses: Map<string, Line | undefined>): Violation[] {
  const violations: Violation[] = []
  const live = [...statuses].filter((e): e is [string, Line] => e[1] !== undefined && !e[1].starting)
  for (const [name, s] of statuses) {
    if (!s) violations.push({ check: 'unresponsive', message: `${name} did not answer (hung, or still starting its endpoint)` })
    else if (s.starting === 'opening') violations.push({ check: 'unresponsive', message: `${name} (${s.role}) has an endpoint but cannot open the document: its parent never sends it` })
    else if (s.starting) violations.push({ check: 'unresponsive', message: `${name} is still starting its endpoint (no parent welcomed it)` })
  }
  const roots = live.filter(([, s]) => s.role === 'host')
  if (roots.length !== 1)
    violations.push({
      check: 'one-root',
      message: `${roots.length} roots: ${roots.map(([n, s]) => `${n} (epoch ${s.epoch}, seq ${s.seq}, ${s.children?.length ?? 0} children)`).join('; ') || 'none'}`,
    })
  const nameOf = new Map(live.map(([n, s]) => [s.id as string, n]))
  const parentOf = new Map<string, string>()
  for (const [parent, s] of live) {
    for (const childId of (s.children ?? []) as string[]) {
      const child = nameOf.get(childId)
      if (!child) continue // a dead incarnation still in a roster until it times out
      const other = parentOf.get(child)
      if (other) violations.push({ check: 'attached', message: `${child} is a child of both ${other} and ${parent}` })
      else parentOf.set(child, parent)
    }
  }
  for (const [name, s] of live) {
    if (s.parentLost) violations.push({ check: 'attached', message: `${name} (${s.role}) has lost its parent and not found a new one` })
    if (s.role === 'host') continue
    const chain = [name]
    let at = name
    for (;;) {
      const parent = parentOf.get(at)
      if (!parent) {
        violations.push({ check: 'attached', message: `${chain.join(' → ')} ends at ${at}, which no live member lists as its child: no root above ${name}` })
        break
      }
      if (chain.includes(parent)) {
        violations.push({ check: 'attached', message: `parent loop: ${[...chain, parent].join(' → ')}` })
        break
      }
      chain.push(parent)
      if (statuses.get(parent)?.role === 'host') break
      at = parent
    }
  }
  return violations
}

/** Replica checks on dump lines: equal, every confirmed token exactly once. */
export function replicaViolations(dumps: Map<string, Line | undefined>, confirmed: Map<string, { writer: string; confirmedAt: number }>): Violation[] {
  const violations: Violation[] = []
  const live = [...dumps].filter((e): e is [string, Line] => e[1] !== undefined && !e[1].starting)
  const byHash = new Map<string, string[]>()
  for (const [name, d] of live) byHash.set(`seq ${d.seq}, hash ${d.hash}`, [...(byHash.get(`seq ${d.seq}, hash ${d.hash}`) ?? []), name])
  if (byHash.size > 1) violations.push({ check: 'equal', message: `replicas differ: ${[...byHash].map(([k, names]) => `${names.join(',')} at ${k}`).join(' | ')}` })
  for (const [name, d] of live) if (d.pending !== 0) violations.push({ check: 'equal', message: `${name} still has ${d.pending} pending changes` })
  for (const [name, d] of live) {
    const counts = occurrences(d.state as ChaosDoc)
    const lost: string[] = []
    const doubled: string[] = []
    for (const token of confirmed.keys()) {
      const n = counts.get(token) ?? 0
      if (n === 0) lost.push(token)
      else if (n > 1) doubled.push(`${token}×${n}`)
    }
    if (lost.length > 0) violations.push({ check: 'confirmed-lost', message: `${name} lacks ${lost.length} of ${confirmed.size} confirmed changes: ${sample(lost)}` })
    if (doubled.length > 0) violations.push({ check: 'confirmed-duplicated', message: `${name} has ${doubled.length} confirmed changes more than once: ${sample(doubled)}` })
  }
  return violations
}

/**
 * The note handler every member runs in a worker thread: a registration that failed (any
 * incarnation's `worker-failed` line), or a live member whose handler threw, timed out or lost
 * its thread, is a violation; so is a cluster where no live member's handler ever ran.
 */
export function workerViolations(dumps: Map<string, Line | undefined>, failedRegistrations: Line[]): Violation[] {
  const violations: Violation[] = failedRegistrations.map((l) => ({ check: 'worker-failed' as const, message: `${l.name} (incarnation ${l.inc}) could not register its worker handler: ${l.error}` }))
  const live = [...dumps].filter((e): e is [string, Line] => e[1] !== undefined && !e[1].starting && e[1].stats !== undefined)
  for (const [name, d] of live) {
    const { workerErrors = 0, workerTimeouts = 0, workerCrashes = 0 } = d.stats as Record<string, number>
    if (workerErrors + workerTimeouts + workerCrashes > 0)
      violations.push({ check: 'worker-failed', message: `${name}'s worker handler failed: ${workerErrors} threw, ${workerTimeouts} timed out, ${workerCrashes} threads died` })
  }
  if (live.length > 0 && live.every(([, d]) => ((d.stats as Record<string, number>).workerTasks ?? 0) === 0))
    violations.push({ check: 'worker-failed', message: 'no live member handled a single note in its worker thread' })
  return violations
}

/**
 * Coordinated runs only: every epoch is a token etcd issued to one leader, so the `host` role
 * lines of the whole run (every incarnation) never name two members at one epoch.
 */
export function epochViolations(members: ReadonlyArray<{ name: string; lines: readonly Line[] }>): Violation[] {
  const rootsAt = new Map<number, Set<string>>()
  for (const m of members)
    for (const l of m.lines)
      if ((l.type === 'started' || l.type === 'role' || l.type === 'parent-back') && l.role === 'host') {
        const epoch = Number(l.epoch)
        rootsAt.set(epoch, (rootsAt.get(epoch) ?? new Set()).add(m.name))
      }
  return [...rootsAt]
    .filter(([, names]) => names.size > 1)
    .map(([epoch, names]) => ({ check: 'two-roots-one-epoch' as const, message: `${[...names].join(' and ')} were both root at epoch ${epoch}` }))
}
