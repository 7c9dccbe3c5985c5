#!/usr/bin/env node
// Zinc benchmark harness (issue 9): every scenario runs Zinc and its raw zeromq.js baseline in
// the same run, with the same topology, processes, message size and transport.
//
//   node bench/run.mjs [--smoke] [--only NAME[,NAME]] [--reps N] [--out DIR] [--profile [--profile-workers a,b]] [--soak MIN]
//
// Writes DIR/latest.json, DIR/latest.svg and DIR/latest.md. DIR defaults to bench/results (the
// recorded results) for a full run only; a --smoke run (tiny sizes, numbers that mean nothing)
// writes to bench/results/tmp/smoke and a partial one (--only, --soak, --profile) to
// bench/results/tmp/partial, both git-ignored, unless --out says otherwise.
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { workerFlags } from './lib/proc.mjs'
import { machine } from './lib/machine.mjs'
import { renderSvg } from './lib/svg.mjs'
import { renderMarkdown, renderTable } from './lib/report.mjs'
import { throughput } from './scenarios/throughput.mjs'
import { latency } from './scenarios/latency.mjs'
import { wide } from './scenarios/wide.mjs'
import { fanout, depth } from './scenarios/tree.mjs'
import { latejoin } from './scenarios/latejoin.mjs'
import { failover } from './scenarios/failover.mjs'
import { memory } from './scenarios/memory.mjs'
import { intent } from './scenarios/intent.mjs'
import { workers } from './scenarios/workers.mjs'
import { peers } from './scenarios/peers.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))

const SCENARIOS = { throughput, latency, wide, fanout, depth, latejoin, failover, memory, intent, workers, peers }
/** Scenarios a --smoke run without --only skips (see main). */
const SMOKE_SKIP = ['peers']

/** A wrong flag: printed as one line with the usage, no stack. */
class UsageError extends Error {}
const USAGE = () =>
  'node bench/run.mjs [--smoke] [--only ' +
  Object.keys(SCENARIOS).join(',') +
  '] [--reps N] [--out DIR] [--profile [--profile-workers zinc-root,zinc-client]] [--soak MIN] [--failover-n N] [--hwm N] [--window N]'

function parseArgs(argv) {
  const o = { smoke: false, only: null, reps: null, out: null, profile: false, profileWorkers: ['zinc-root'], soakMin: 0 }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const val = () => {
      const v = argv[++i]
      if (v === undefined) throw new UsageError(`${a} needs a value`)
      return v
    }
    if (a === '--smoke') o.smoke = true
    else if (a === '--only') o.only = val().split(',')
    else if (a === '--reps') o.reps = Number(val())
    else if (a === '--out') o.out = path.resolve(val())
    else if (a === '--profile') o.profile = true
    else if (a === '--profile-workers') o.profileWorkers = val().split(',')
    else if (a === '--soak') o.soakMin = Number(val())
    else if (a === '--failover-n') o.failoverN = Number(val())
    else if (a === '--hwm') o.hwm = Number(val())
    else if (a === '--window') o.window = Number(val())
    else if (a === '--help' || a === '-h') {
      console.log(USAGE())
      process.exit(0)
    } else throw new UsageError(`unknown argument ${a}`)
  }
  for (const name of o.only ?? []) if (!SCENARIOS[name]) throw new UsageError(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`)
  o.reps ??= o.smoke ? 1 : 3
  // Only a full run (every scenario, full size) replaces the recorded results.
  const partial = o.only !== null || o.soakMin > 0 || o.profile
  o.out ??= o.smoke ? path.join(here, 'results', 'tmp', 'smoke') : partial ? path.join(here, 'results', 'tmp', 'partial') : path.join(here, 'results')
  if (!(o.reps >= 1)) throw new UsageError('--reps must be at least 1')
  return o
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  const started = Date.now()
  const progress = (msg) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${msg}\n`)
  // peers spawns ~30 processes even at smoke size (~20 s): CI's smoke leaves it out; run it
  // with --only peers, or `node bench/scenarios/peers.mjs --smoke`.
  const names = opts.only ?? Object.keys(SCENARIOS).filter((n) => !(opts.smoke && SMOKE_SKIP.includes(n)))
  await mkdir(opts.out, { recursive: true })
  if (opts.profile) {
    const dir = path.join(opts.out, 'prof')
    await mkdir(dir, { recursive: true })
    for (const name of opts.profileWorkers) workerFlags.set(name, ['--cpu-prof', '--cpu-prof-dir', path.join(dir, name)])
    progress(`CPU profiles of every ${opts.profileWorkers.join(', ')} worker go to ${dir}/<worker>/`)
  }
  const ctx = { smoke: opts.smoke, reps: opts.reps, soakMin: opts.soakMin, failoverN: opts.failoverN, hwm: opts.hwm, window: opts.window, progress }
  const result = { version: 1, smoke: opts.smoke, reps: opts.reps, machine: machine(), scenarios: {} }
  progress(`${opts.smoke ? 'smoke' : 'full'} run: ${names.join(', ')} (${opts.reps} rep${opts.reps > 1 ? 's' : ''}) on ${result.machine.cores} × ${result.machine.cpu}`)
  let failed = false
  for (const name of names) {
    const t0 = Date.now()
    progress(`── ${name}`)
    try {
      const out = await SCENARIOS[name](ctx)
      result.scenarios[name] = { ...out, seconds: (Date.now() - t0) / 1000 }
    } catch (error) {
      failed = true
      progress(`${name} FAILED: ${error?.stack ?? error}`)
      result.scenarios[name] = { rows: [], error: String(error?.message ?? error), seconds: (Date.now() - t0) / 1000 }
    }
    progress(`${name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  }
  result.seconds = (Date.now() - started) / 1000
  const json = JSON.stringify(result, (k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)
  await writeFile(path.join(opts.out, 'latest.json'), json + '\n')
  await writeFile(path.join(opts.out, 'latest.svg'), renderSvg(result))
  await writeFile(path.join(opts.out, 'latest.md'), renderMarkdown(result))
  console.log(renderTable(result))
  progress(`wrote ${path.join(opts.out, 'latest.{json,svg,md}')} in ${result.seconds.toFixed(1)} s`)
  process.exit(failed ? 1 : 0)
}

main().catch((error) => {
  if (error instanceof UsageError) {
    process.stderr.write(`bench: ${error.message}. Usage: ${USAGE()}\n`)
    process.exit(2)
  }
  process.stderr.write(`bench failed: ${error?.stack ?? error}\n`)
  process.exit(1)
})
