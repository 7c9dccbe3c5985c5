/**
 * What the sharded chaos run asserts after quiescence (docs/chaos.md, "Sharded"), built on the
 * checks of checks.ts:
 *   - shards: every host answers, every shard is led by exactly one live host, and every host
 *     sees every host live;
 *   - per document: every replica (each writer's, and the copy of the root of its shard) equal,
 *     nothing pending, every confirmed change of that document present exactly once;
 *   - per shard, over the whole run: never two hosts root at one epoch.
 */
import { epochViolations, replicaViolations, type Violation } from './checks.js'
import type { Line } from './member-process.js'
import type { Statuses } from './phases.js'

/** Status (or dump) lines by member name (`Statuses`); hosts' names start with `h`. */
export function shardViolations(statuses: Statuses, shards: number): Violation[] {
  const violations: Violation[] = []
  for (const [name, s] of statuses) if (!s || s.starting) violations.push({ check: 'unresponsive', message: `${name} did not answer, or is still starting` })
  const hosts = [...statuses].filter((e): e is [string, Line] => e[0].startsWith('h') && e[1] !== undefined && !e[1].starting)
  for (let shard = 0; shard < shards; shard++) {
    const leaders = hosts.filter(([, s]) => (s.led as number[]).includes(shard)).map(([n]) => n)
    if (leaders.length !== 1) violations.push({ check: 'one-root', message: `shard ${shard} is led by ${leaders.length} hosts: ${leaders.join(', ') || 'none'}` })
  }
  const names = [...statuses.keys()].filter((n) => n.startsWith('h')).sort()
  for (const [name, s] of hosts)
    if ((s.hosts as string[]).slice().sort().join() !== names.join())
      violations.push({ check: 'attached', message: `${name} sees live hosts ${(s.hosts as string[]).join(', ')}, not ${names.join(', ')}` })
  return violations
}

/** Per document: the replicas of every member holding it, checked as one tree's replicas are. */
export function documentViolations(dumps: Statuses, docs: string[], writers: string[], confirmed: Map<string, { writer: string; confirmedAt: number; doc: string }>): Violation[] {
  const violations: Violation[] = []
  for (const doc of docs) {
    const replicas = new Map<string, Line | undefined>()
    for (const [name, d] of dumps) {
      const copy = d?.docs?.[doc] as Record<string, unknown> | undefined
      // A status line has no state: then only equality and pending are checked (the tokens on dumps).
      if (copy) replicas.set(name, { ...(d as Line), state: {}, ...copy })
      else if (writers.includes(name) && d && !d.starting) violations.push({ check: 'unresponsive', message: `doc ${doc}: ${name} does not have it open` })
    }
    if (![...replicas.keys()].some((n) => n.startsWith('h'))) violations.push({ check: 'one-root', message: `doc ${doc}: no host leading its shard holds it` })
    const withState = [...replicas.values()].every((r) => r?.state && Object.keys(r.state).length > 0)
    const ofDoc = new Map(withState ? [...confirmed].filter(([, c]) => c.doc === doc) : [])
    violations.push(...replicaViolations(replicas, ofDoc).map((v) => ({ ...v, message: `doc ${doc}: ${v.message}` })))
  }
  return violations
}

/** Per shard, from each host's role lines: etcd issues every epoch once. */
export function shardEpochViolations(shards: number, linesOf: (shard: number) => ReadonlyArray<{ name: string; lines: readonly Line[] }>): Violation[] {
  const violations: Violation[] = []
  for (let shard = 0; shard < shards; shard++) violations.push(...epochViolations(linesOf(shard)).map((v) => ({ ...v, message: `shard ${shard}: ${v.message}` })))
  return violations
}
