/**
 * One sharded chaos run (docs/chaos.md, "Sharded"): start the hosts and the writers on etcd,
 * let the writers write, inject the seeded faults (kill-root and pause-root hit hosts, kill-leaf
 * writers), heal everything, wait for quiescence, run the checks of sharded-checks.ts, and write
 * report.json, timeline.txt and the member logs under `<artifacts>/seed-<seed>/`, as run.ts does.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { shardOf } from '@zinc/coordinator-etcd'
import { availability, formatTable } from './availability.js'
import type { Violation } from './checks.js'
import type { EtcdMode } from './cluster.js'
import type { Line } from './member-process.js'
import type { FaultKind, Nemesis } from './nemesis.js'
import { ask, faultsThenQuiet, quiesce, type Statuses } from './phases.js'
import { collectAcks, writeLogs, type ChaosResult } from './run.js'
import { ShardedCluster } from './sharded-cluster.js'
import { documentViolations, shardEpochViolations, shardViolations } from './sharded-checks.js'

export interface ShardedChaosOptions {
  seed: number
  faults: number
  kinds: readonly FaultKind[]
  script: string
  artifacts: string
  etcd: EtcdMode
  hosts?: number
  writers?: number
  shards?: number
  docs?: number
  log?: (line: string) => void
}

/** `count` document ids on distinct shards where there are enough shards (ids doc-0, doc-1, … skipped when their shard is taken). */
export function spreadDocs(count: number, shards: number): string[] {
  const docs: string[] = []
  const used = new Set<number>()
  for (let i = 0; docs.length < count; i++) {
    const shard = shardOf(`doc-${i}`, shards)
    if (used.has(shard) && used.size < shards && i < 1_000) continue
    used.add(shard)
    docs.push(`doc-${i}`)
  }
  return docs
}

export async function runShardedChaos(options: ShardedChaosOptions): Promise<ChaosResult> {
  const heartbeatMs = 150
  const peerTimeoutMs = options.etcd.leaseTtlMs
  const shards = options.shards ?? 8
  const docs = spreadDocs(options.docs ?? 6, shards)
  const log = options.log ?? (() => {})
  const dataDir = mkdtempSync(join(tmpdir(), `zinc-chaos-sharded-${options.seed}-`))
  const dir = join(options.artifacts, `seed-${options.seed}`)
  mkdirSync(dir, { recursive: true })
  const cluster = new ShardedCluster({
    script: options.script,
    dataDir,
    hosts: options.hosts ?? 3,
    writers: options.writers ?? 3,
    shards,
    docs,
    writeEveryMs: 60,
    logLevel: 'info',
    heartbeatMs,
    peerTimeoutMs,
    etcd: options.etcd,
  })
  let t0 = Date.now()
  let nemesis: Nemesis | undefined
  try {
    await cluster.start(90_000)
    log(`sharded seed ${options.seed}: cluster up in ${Date.now() - t0} ms; docs ${docs.join(', ')}; ${options.faults} faults of ${options.kinds.join(', ')}`)
    t0 = Date.now()
    const quietAt = await faultsThenQuiet(cluster, { seed: options.seed, faults: options.faults, kinds: options.kinds, peerTimeoutMs, restartTimeoutMs: 60_000 }, t0, (n) => (nemesis = n))
    const writers = cluster.writers.map((w) => w.name)
    const acks = () => collectAcks(cluster.members)
    const confirmedNow = () => new Map(acks().map((a, i) => [a.token, { writer: a.writer, confirmedAt: a.confirmedAt, doc: ackDocs(cluster.members)[i]! }]))
    const check = (statuses: Statuses) => [...shardViolations(statuses, shards), ...documentViolations(statuses, docs, writers, confirmedNow())]
    const { converged, quiesceMs } = await quiesce(cluster, (statuses) => check(statuses).length === 0, quietAt, 120_000)
    const dumps = await ask(cluster, 'dump')
    const end = Date.now()
    const confirmed = confirmedNow()
    const violations: Violation[] = [...check(dumps), ...shardEpochViolations(shards, (shard) => cluster.shardLines(shard))]
    const faults = nemesis!.faults
    const rows = availability(acks(), faults, t0, quietAt)
    const table = formatTable(rows)
    const final = Object.fromEntries([...dumps].map(([name, d]) => [name, d && strip(d)]))
    writeFileSync(
      join(dir, 'report.json'),
      JSON.stringify(
        {
          seed: options.seed,
          kinds: options.kinds,
          shards,
          docs,
          confirmed: confirmed.size,
          converged,
          quiesceMs,
          durationMs: end - t0,
          faults,
          unavailability: rows,
          violations,
          final,
        },
        null,
        2,
      ),
    )
    return { seed: options.seed, violations, faults, rows, table, confirmed: confirmed.size, converged, quiesceMs, dir }
  } finally {
    await cluster.stop()
    writeLogs(dir, cluster.members, nemesis?.faults ?? [], t0)
    rmSync(dataDir, { recursive: true, force: true })
  }
}

/** The document of each ack, in collectAcks's order. */
function ackDocs(members: ShardedCluster['members']): string[] {
  return members.flatMap((m) => m.lines.filter((l) => l.type === 'acked').flatMap((l) => (l.acks as Array<[string, number, number, string]>).map((a) => a[3])))
}

/** A dump without the document states (report.json stays readable). */
function strip(d: Line): Record<string, unknown> {
  const { state: _state, docs, ...rest } = d
  return { ...rest, docs: Object.fromEntries(Object.entries((docs ?? {}) as Record<string, Record<string, unknown>>).map(([id, { state: _s, ...copy }]) => [id, copy])) }
}
