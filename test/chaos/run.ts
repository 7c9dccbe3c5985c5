/**
 * One chaos run: start the cluster, let the writers write, inject the seeded faults, heal
 * everything, wait for quiescence, check every replica, and write what happened under
 * `<artifacts>/seed-<seed>/`: report.json (faults, unavailability, violations), timeline.txt
 * (every member's role changes and endpoint logs, merged by time) and one log per member.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { availability, formatTable, type Ack, type WindowRow } from './availability.js'
import { epochViolations, replicaViolations, treeViolations, workerViolations, type Violation } from './checks.js'
import { Cluster, type EtcdMode } from './cluster.js'
import type { Line, MemberProcess } from './member-process.js'
import type { Fault, FaultKind, Nemesis } from './nemesis.js'
import { ask, faultsThenQuiet, quiesce, type Statuses } from './phases.js'

export interface ChaosOptions {
  seed: number
  faults: number
  kinds: readonly FaultKind[]
  /** The member script built from member.ts. */
  script: string
  /** Where report.json, timeline.txt and the member logs go. */
  artifacts: string
  heartbeatMs?: number
  peerTimeoutMs?: number
  writeEveryMs?: number
  /** How long healed members get to agree before the checks run anyway. */
  quiesceTimeoutMs?: number
  log?: (line: string) => void
  /** Members coordinated on etcd (the root elected there) instead of the embedded succession. */
  etcd?: EtcdMode
}

export interface ChaosResult {
  seed: number
  violations: Violation[]
  faults: Fault[]
  rows: WindowRow[]
  table: string
  confirmed: number
  converged: boolean
  quiesceMs: number
  dir: string
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const heartbeatMs = options.heartbeatMs ?? 150
  const peerTimeoutMs = options.peerTimeoutMs ?? 2_000
  const log = options.log ?? (() => {})
  const dataDir = mkdtempSync(join(tmpdir(), `zinc-chaos-${options.seed}-`))
  const dir = join(options.artifacts, `seed-${options.seed}`)
  mkdirSync(dir, { recursive: true })
  const cluster = await Cluster.create({
    script: options.script,
    dataDir,
    heartbeatMs,
    peerTimeoutMs,
    writeEveryMs: options.writeEveryMs ?? 60,
    logLevel: 'info',
    ...(options.etcd ? { etcd: options.etcd } : {}),
  })
  // Times in the report count from when every member has opened the document (the baseline window starts then).
  let t0 = Date.now()
  let nemesis: Nemesis | undefined
  try {
    await cluster.start(60_000)
    log(`seed ${options.seed}: cluster up in ${Date.now() - t0} ms; ${options.faults} faults of ${options.kinds.join(', ')}`)
    t0 = Date.now()
    const quietAt = await faultsThenQuiet(cluster, { seed: options.seed, faults: options.faults, kinds: options.kinds, peerTimeoutMs, restartTimeoutMs: 30_000 }, t0, (n) => (nemesis = n))
    // Quiescence: writers stopped; everyone must agree within the limit.
    const { converged, quiesceMs } = await quiesce(cluster, agreed, quietAt, options.quiesceTimeoutMs ?? 90_000)
    const dumps = await ask(cluster, 'dump')
    const end = Date.now()

    const acks = collectAcks(cluster.members)
    const confirmed = new Map(acks.map((a) => [a.token, { writer: a.writer, confirmedAt: a.confirmedAt }]))
    const failedWorkers = cluster.members.flatMap((m) => m.lines.filter((l) => l.type === 'worker-failed'))
    const violations = [...treeViolations(dumps), ...replicaViolations(dumps, confirmed), ...workerViolations(dumps, failedWorkers)]
    // etcd issues every epoch once: two members root at one epoch would be a fork.
    if (options.etcd) violations.push(...epochViolations(cluster.members))
    const faults = nemesis!.faults
    const rows = availability(acks, faults, t0, quietAt)
    const table = formatTable(rows)
    const result: ChaosResult = { seed: options.seed, violations, faults, rows, table, confirmed: confirmed.size, converged, quiesceMs, dir }
    writeFileSync(
      join(dir, 'report.json'),
      JSON.stringify(
        {
          seed: options.seed,
          kinds: options.kinds,
          heartbeatMs,
          peerTimeoutMs,
          confirmed: confirmed.size,
          converged,
          quiesceMs,
          durationMs: end - t0,
          faults,
          unavailability: rows,
          violations,
          final: summarize(dumps),
        },
        null,
        2,
      ),
    )
    return result
  } finally {
    await cluster.stop()
    writeLogs(dir, cluster.members, nemesis?.faults ?? [], t0)
    rmSync(dataDir, { recursive: true, force: true })
  }
}

function agreed(statuses: Statuses): boolean {
  if (treeViolations(statuses).length > 0) return false
  const lines = [...statuses.values()] as Line[]
  return lines.every((s) => s.pending === 0 && s.seq === lines[0]!.seq && s.hash === lines[0]!.hash)
}

export function collectAcks(members: MemberProcess[]): Ack[] {
  const acks: Ack[] = []
  for (const m of members)
    for (const line of m.lines)
      if (line.type === 'acked') for (const [token, madeAt, confirmedAt] of line.acks as Array<[string, number, number]>) acks.push({ token, writer: m.name, madeAt, confirmedAt })
  return acks
}

function summarize(dumps: Map<string, Line | undefined>): Record<string, unknown> {
  return Object.fromEntries(
    [...dumps].map(([name, d]) => [
      name,
      d && { id: d.id, inc: d.inc, role: d.role, epoch: d.epoch, seq: d.seq, pending: d.pending, hash: d.hash, parentLost: d.parentLost, children: d.children, made: d.made, stats: d.stats },
    ]),
  )
}

/** One log per member, and a timeline of what matters for succession, merged by time. */
export function writeLogs(dir: string, members: MemberProcess[], faults: Fault[], t0: number): void {
  const events: Array<[number, string]> = []
  for (const f of faults) {
    events.push([t0 + f.at, `NEMESIS #${f.index} ${f.kind} ${f.target ?? '-'} (${f.targetRole ?? ''} epoch ${f.targetEpoch ?? ''}) ${f.note ?? ''}`])
    if (f.healedAt !== undefined) events.push([t0 + f.healedAt, `NEMESIS #${f.index} heal ${f.target} (${f.kind === 'pause-root' ? 'SIGCONT' : 'restart'})`])
  }
  for (const m of members) {
    writeFileSync(join(dir, `${m.name}.log`), m.output.join('\n'))
    for (const entry of m.output) {
      const [inc, ...rest] = entry.split(' ')
      const text = rest.join(' ')
      const json = text.startsWith('! {') ? text.slice(2) : text.startsWith('{') ? text : undefined
      if (!json) continue
      try {
        const line = JSON.parse(json) as Record<string, unknown>
        if (line.type === 'acked' || line.type === 'status' || line.type === 'dump' || line.level === 'debug') continue
        const time = (line.t ?? line.time) as number
        const { t: _t, time: _time, name: _name, inc: _inc, ...restOfLine } = line
        events.push([time, `${m.name}.${inc} ${JSON.stringify(restOfLine)}`])
      } catch {
        // A readable line.
      }
    }
  }
  events.sort((x, y) => x[0] - y[0])
  writeFileSync(join(dir, 'timeline.txt'), events.map(([t, text]) => `${((t - t0) / 1000).toFixed(3).padStart(8)} ${text}`).join('\n'))
}
