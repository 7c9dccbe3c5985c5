// (11) Zinc against the system its users would pick instead (issue 17): Yjs + Hocuspocus, in the
// same run, with the same processes, the same change and the same acknowledgement window.
//
// Every client is its own process (fan-out: 8 per process); the server is one process (a Zinc
// root over ZeroMQ or over WebSocket; a Hocuspocus server). A change is a ~100-byte shape set
// into a shared map (Zinc: `doc.change(d => { d.shapes[id] = shape })`, and with the shapes in
// `keyed` buckets, `keyed.set(d.shapes, id, shape)`; Yjs: `map.set(id, shape)`), each writer
// cycling over 100 keys of its own. Systems run interleaved, `reps` times (default 2).
//
//   latency     A → server → B at 500/s: p50 / p99 of the shape's send time to B's callback
//   throughput  4 writers (window of 200 unacknowledged each) → 8 readers: changes/s per reader,
//               reader CPU per change received, writer CPU per change written (writers also
//               receive the others'), server CPU per change
//   fanout      1 writer at 100/s → 64 readers in 8 processes: p50 / p99
//   latejoin    a new client joins a server holding 10,000 shapes: start → holding them all
//
//   node bench/scenarios/peers.mjs [--smoke] [--reps N] [--only latency,throughput,fanout,latejoin] [--systems zinc-zmq,yjs] [--profile DIR]
//     [--writers N --readers N --window N --dur MS]   another throughput shape, for investigations
//   ZINC_BASE_CORE=<another build's packages/core/dist> ... --systems zinc-zmq-base,zinc-zmq,yjs   before/after in one run
//
// Standalone, a full run writes bench/results/peers.{json,md}; --smoke writes
// bench/results/tmp/smoke/peers.*, and --only/--systems/--profile bench/results/tmp/partial/peers.*
// (git-ignored), so only a full run replaces the recorded figures. `node bench/run.mjs --only
// peers` runs it as one scenario of the harness. --profile DIR: --cpu-prof of every process,
// into DIR/<system>-<role>/ (role: server, reader, writer, client); bench/profile-top.mjs reads them.
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { summarize } from '../lib/stats.mjs'
import { fmt } from '../lib/report.mjs'
import { EXTRA_SYSTEMS, SYSTEMS } from '../peers/system.mjs'
import { median, row, sleep, spawnWorker, stopAll } from './common.mjs'

const PARTS = ['latency', 'throughput', 'fanout', 'latejoin']
const LABEL = { 'zinc-zmq': 'Zinc (zmq)', 'zinc-ws': 'Zinc (ws)', 'zinc-zmq-base': 'Zinc (zmq, ZINC_BASE_CORE)', 'zinc-zmq-keyed': 'Zinc (zmq, keyed shapes)', yjs: 'Yjs + Hocuspocus' }

function config(smoke) {
  return smoke
    ? {
        latency: { rate: 500, warmMs: 200, durMs: 400 },
        throughput: { W: 2, R: 2, window: 50, warmMs: 300, durMs: 500 },
        fanout: { readers: 4, perProcess: 2, rate: 100, settleMs: 200, warmMs: 200, durMs: 400 },
        latejoin: { n: 500, joins: 1 },
      }
    : {
        latency: { rate: 500, warmMs: 1000, durMs: 5000 },
        throughput: { W: 4, R: 8, window: 200, warmMs: 1500, durMs: 4000 },
        fanout: { readers: 64, perProcess: 8, rate: 100, settleMs: 3000, warmMs: 1000, durMs: 5000 },
        latejoin: { n: 10_000, joins: 3 },
      }
}

/** --profile DIR: every process writes a V8 CPU profile into DIR/<system>-<role>/. */
let profileDir
const flags = (system, role) => ({ execArgv: profileDir ? ['--cpu-prof', '--cpu-prof-dir', path.join(profileDir, `${system}-${role}`)] : [] })

async function withServer(system, fn) {
  const ws = []
  try {
    const server = await spawnWorker('peer-server', { system }, flags(system, 'server'))
    ws.push(server)
    const client = (count = 1, role = 'client') => spawnWorker('peer-client', { system, info: server.info, count }, flags(system, role)).then((w) => (ws.push(w), w))
    return await fn(server, client)
  } finally {
    await stopAll(ws)
  }
}

function latency(system, { rate, warmMs, durMs }) {
  return withServer(system, async (server, client) => {
    await server.call('seed', { doc: 'lat' })
    const [a, b] = await Promise.all([client(), client()])
    await Promise.all([a.call('open', { doc: 'lat' }), b.call('open', { doc: 'lat' })])
    await b.call('listen', { mode: 'latency' })
    await a.call('rate', { wid: 'a', rate, durationMs: warmMs })
    await b.call('reset')
    await a.call('rate', { wid: 'a', rate, durationMs: durMs })
    await sleep(100)
    const s = summarize(await b.call('samples'))
    return { p50: s.p50 / 1000, p99: s.p99 / 1000, n: s.n, sent: Math.round((rate * durMs) / 1000) }
  })
}

function throughput(system, { W, R, window, warmMs, durMs }) {
  return withServer(system, async (server, client) => {
    await server.call('seed', { doc: 'tp' })
    const readers = await Promise.all(Array.from({ length: R }, () => client(1, 'reader')))
    const writers = await Promise.all(Array.from({ length: W }, () => client(1, 'writer')))
    await Promise.all([...readers, ...writers].map((w) => w.call('open', { doc: 'tp' })))
    await Promise.all(readers.map((w) => w.call('listen', { mode: 'count' })))
    await Promise.all(writers.map((w, i) => w.call('flood', { wid: `w${i}`, window })))
    await sleep(warmMs)
    const all = [server, ...readers, ...writers]
    const m0 = await Promise.all(all.map((w) => w.call('mark')))
    await sleep(durMs)
    const m1 = await Promise.all(all.map((w) => w.call('mark')))
    await Promise.all(writers.map((w) => w.call('halt')))
    const d = (i, k) => m1[i][k] - m0[i][k]
    const sec = (m1[0].t - m0[0].t) / 1e6
    const rIdx = readers.map((_, i) => 1 + i)
    const wIdx = writers.map((_, i) => 1 + R + i)
    const written = wIdx.reduce((n, i) => n + d(i, 'produced'), 0)
    const received = rIdx.reduce((n, i) => n + d(i, 'count'), 0)
    // CPU ticks by thread name, summed over readers (main thread, libuv, V8 workers, ZeroMQ I/O).
    const readerThreads = {}
    for (const i of rIdx) for (const [k, v] of Object.entries(m1[i].threads ?? {})) readerThreads[k] = (readerThreads[k] ?? 0) + v - (m0[i].threads?.[k] ?? 0)
    return {
      readerThreads,
      perReader: median(rIdx.map((i) => d(i, 'count') / sec)),
      written: written / sec,
      readerCpu: rIdx.reduce((n, i) => n + d(i, 'cpuUs'), 0) / Math.max(1, received),
      writerCpu: wIdx.reduce((n, i) => n + d(i, 'cpuUs'), 0) / Math.max(1, written),
      serverCpu: d(0, 'cpuUs') / Math.max(1, written),
      perCallback:
        received /
        Math.max(
          1,
          rIdx.reduce((n, i) => n + d(i, 'events'), 0),
        ),
    }
  })
}

function fanout(system, { readers: n, perProcess, rate, settleMs, warmMs, durMs }) {
  return withServer(system, async (server, client) => {
    await server.call('seed', { doc: 'fan' })
    const readers = await Promise.all(Array.from({ length: Math.ceil(n / perProcess) }, (_, i) => client(Math.min(perProcess, n - i * perProcess))))
    const writer = await client()
    await Promise.all([...readers, writer].map((w) => w.call('open', { doc: 'fan' })))
    await Promise.all(readers.map((w) => w.call('listen', { mode: 'latency' })))
    await sleep(settleMs)
    await writer.call('rate', { wid: 'f', rate, durationMs: warmMs })
    await Promise.all(readers.map((w) => w.call('reset')))
    await writer.call('rate', { wid: 'f', rate, durationMs: durMs })
    await sleep(200)
    const s = summarize((await Promise.all(readers.map((w) => w.call('samples')))).flat())
    return { p50: s.p50 / 1000, p99: s.p99 / 1000, n: s.n, expected: Math.round((rate * durMs) / 1000) * n }
  })
}

function latejoin(system, { n, joins }) {
  return withServer(system, async (server, client) => {
    await server.call('seed', { doc: 'big', n }, 300_000)
    const joiner = await client(0)
    const ms = []
    for (let i = 0; i < joins; i++) {
      const r = await joiner.call('lateJoin', { doc: 'big' }, 300_000)
      if (r.n !== n) throw new Error(`${system} late joiner holds ${r.n} shapes, not ${n}`)
      ms.push(r.ms)
    }
    return { ms: median(ms) }
  })
}

const RUN = { latency, throughput, fanout, latejoin }

/** The figures of the issue, one per line: [part, key, metric, unit, better, target vs Yjs]. */
const FIGURES = [
  ['latency', 'p50', 'latency A → server → B at 500/s, p50', 'ms', 'lower', { kind: 'ratio', op: '<=', value: 1 }],
  ['latency', 'p99', 'latency A → server → B at 500/s, p99', 'ms', 'lower', { kind: 'ratio', op: '<=', value: 0.5 }],
  ['throughput', 'perReader', '4 writers → 8 readers, changes/s per reader', 'msg/s', 'higher', { kind: 'ratio', op: '>=', value: 1.5 }],
  ['throughput', 'readerCpu', 'reader CPU per change received', 'µs', 'lower', { kind: 'ratio', op: '<=', value: 1 }],
  ['throughput', 'writerCpu', 'writer CPU per change written (incl. receiving the others)', 'µs', 'lower', null],
  ['throughput', 'serverCpu', 'server CPU per change', 'µs', 'lower', null],
  ['throughput', 'written', 'changes/s written (all writers)', 'msg/s', 'higher', null],
  ['throughput', 'perCallback', 'changes per reader callback', 'msgs', 'higher', null],
  ['fanout', 'p50', '64 readers at 100/s, p50', 'ms', 'lower', null],
  ['fanout', 'p99', '64 readers at 100/s, p99', 'ms', 'lower', { kind: 'ratio', op: '<=', value: 1 }],
  ['latejoin', 'ms', 'late join of 10,000 shapes', 'ms', 'lower', { kind: 'ratio', op: '<=', value: 0.5 }],
]

export async function peers(ctx) {
  const cfg = config(ctx.smoke)
  Object.assign(cfg.throughput, ctx.peerThroughput ?? {})
  const parts = ctx.peerParts ?? PARTS
  const systems = ctx.peerSystems ?? SYSTEMS
  const reps = ctx.peerReps ?? (ctx.smoke ? 1 : 2)
  const raw = {} // raw[part][system] = [figures of each rep]
  for (const part of parts) {
    raw[part] = {}
    for (let rep = 1; rep <= reps; rep++)
      for (const system of systems) {
        ctx.progress(`peers: ${part}, ${LABEL[system]}, rep ${rep}/${reps}`)
        ;(raw[part][system] ??= []).push(await RUN[part](system, cfg[part]))
      }
  }
  const fig = (part, system, key) => median((raw[part]?.[system] ?? []).map((x) => x[key]))
  const rows = []
  for (const zinc of systems.filter((s) => s !== 'yjs'))
    for (const [part, key, metric, unit, better, target] of FIGURES) {
      if (!parts.includes(part)) continue
      const base = systems.includes('yjs') ? fig(part, 'yjs', key) : null
      rows.push(row(`peers: ${LABEL[zinc]} vs Yjs + Hocuspocus`, metric, unit, fig(part, zinc, key), base, { baselineLabel: 'Yjs + Hocuspocus', better, target: target ?? undefined }))
    }
  const figures = Object.fromEntries(systems.map((s) => [s, Object.fromEntries(FIGURES.filter(([p]) => parts.includes(p)).map(([p, k, metric]) => [metric, fig(p, s, k)]))]))
  return { rows, data: { config: cfg, reps, systems, figures, raw } }
}

/** The side-by-side Markdown table: every system in a column, and each Zinc ÷ Yjs. */
export function peersMarkdown(out, machine) {
  const { systems, figures, reps, config: cfg } = out.data
  const zincs = systems.filter((s) => s !== 'yjs')
  const hasYjs = systems.includes('yjs')
  const head = ['', ...systems.map((s) => LABEL[s]), ...(hasYjs ? zincs.map((s) => `${LABEL[s]} ÷ Yjs`) : []), 'target (÷ Yjs)']
  const lines = [
    `# Zinc against Yjs + Hocuspocus — ${out.smoke ? 'smoke run (tiny sizes, not for comparison)' : 'one run'}`,
    '',
    `Measured ${machine.date} on ${machine.cores} × ${machine.cpu}, Node ${machine.node}${machine.commit ? `, commit ${machine.commit}` : ''}; load average at start ${machine.loadavg.join(' / ')}.`,
    `Medians of ${reps} interleaved repetition(s). Each client its own process (fan-out: ${cfg.fanout.perProcess} per process); writers keep at most ${cfg.throughput.window} changes unacknowledged. Produced by \`node bench/scenarios/peers.mjs\`.`,
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
  ]
  for (const [part, , metric, unit, , target] of FIGURES) {
    if (!(metric in figures[systems[0]])) continue
    const v = (s) => `${fmt(figures[s][metric])} ${unit}`
    const ratio = (s) => {
      const r = figures[s][metric] / figures.yjs[metric]
      return Number.isFinite(r) ? `${r.toFixed(2)}×` : '—'
    }
    const t = target ? `${target.op} ${target.value}×` : ''
    lines.push(`| ${metric} | ${systems.map(v).join(' | ')} | ${hasYjs ? zincs.map(ratio).join(' | ') + ' | ' : ''}${t} |`)
    void part
  }
  return lines.join('\n') + '\n'
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { machine } = await import('../lib/machine.mjs')
  const argv = process.argv.slice(2)
  const val = (flag) => {
    const i = argv.indexOf(flag)
    return i >= 0 ? argv[i + 1] : undefined
  }
  // Every flag is checked before anything runs: an unknown one (or --help) must not start the
  // full run, which takes minutes and rewrites the recorded results.
  const USAGE =
    'node bench/scenarios/peers.mjs [--smoke] [--reps N] [--only ' +
    PARTS.join(',') +
    '] [--systems ' +
    [...SYSTEMS, ...EXTRA_SYSTEMS].join(',') +
    '] [--profile DIR] [--writers N --readers N --window N --dur MS]'
  const WITH_VALUE = ['--reps', '--only', '--systems', '--profile', '--writers', '--readers', '--window', '--dur']
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--help' || argv[i] === '-h') {
      process.stdout.write(USAGE + '\n')
      process.exit(0)
    }
    if (argv[i] === '--smoke') continue
    if (WITH_VALUE.includes(argv[i]) && argv[i + 1] !== undefined) {
      i++
      continue
    }
    process.stderr.write(`peers: ${WITH_VALUE.includes(argv[i]) ? `${argv[i]} needs a value` : `unknown argument ${argv[i]}`}\nusage: ${USAGE}\n`)
    process.exit(2)
  }
  const smoke = argv.includes('--smoke')
  const profile = val('--profile')
  if (profile) profileDir = path.resolve(profile)
  const only = val('--only')?.split(',')
  const systems = val('--systems')?.split(',')
  for (const p of only ?? []) if (!PARTS.includes(p)) throw new Error(`unknown part ${p}; known: ${PARTS.join(', ')}`)
  for (const s of systems ?? []) if (![...SYSTEMS, ...EXTRA_SYSTEMS].includes(s)) throw new Error(`unknown system ${s}; known: ${[...SYSTEMS, ...EXTRA_SYSTEMS].join(', ')}`)
  // Investigations: another throughput shape (--writers N --readers N --window N --dur MS).
  const peerThroughput = Object.fromEntries(
    [
      ['W', '--writers'],
      ['R', '--readers'],
      ['window', '--window'],
      ['durMs', '--dur'],
    ]
      .filter(([, f]) => val(f) !== undefined)
      .map(([k, f]) => [k, Number(val(f))]),
  )
  const here = path.dirname(fileURLToPath(import.meta.url))
  const dir = smoke
    ? path.join(here, '..', 'results', 'tmp', 'smoke')
    : only || systems || profile || Object.keys(peerThroughput).length > 0
      ? path.join(here, '..', 'results', 'tmp', 'partial')
      : path.join(here, '..', 'results')
  const t0 = Date.now()
  const progress = (m) => process.stderr.write(`[peers ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${m}\n`)
  const m = machine()
  const out = { smoke, ...(await peers({ smoke, progress, peerParts: only, peerSystems: systems, peerReps: val('--reps') ? Number(val('--reps')) : undefined, peerThroughput })) }
  await mkdir(dir, { recursive: true })
  await writeFile(path.join(dir, 'peers.json'), JSON.stringify({ machine: m, ...out }, (k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n')
  const md = peersMarkdown(out, m)
  await writeFile(path.join(dir, 'peers.md'), md)
  console.log(md)
  progress(`wrote ${path.join(dir, 'peers.{json,md}')}`)
  process.exit(0)
}
