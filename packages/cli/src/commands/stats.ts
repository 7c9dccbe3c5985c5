import { get as httpGet } from 'node:http'
import { get as httpsGet } from 'node:https'
import { Command } from 'commander'
import { CONTROL_TOPIC, decodeMessage, Kind } from '@zinc/core'
import { parseStatsTarget } from '../addresses.js'
import { CliError } from '../errors.js'
import { addKeyPairOptions, addServerKeyOption, curveOptions, integer, type CurveFlags } from '../options.js'
import { silentNode } from './tail.js'
import type { StatsSnapshot } from '../stats-server.js'
import { formatHeartbeatText, formatStatsText, type HeartbeatView } from '../stats-view.js'
import { decodeHeartbeat, decodeRoster, type WireRoster } from '../wire.js'

interface StatsFlags extends CurveFlags {
  watch?: boolean
  json?: boolean
  timeoutMs: number
  intervalMs: number
}

export function statsCommand(): Command {
  const cmd = new Command('stats')
    .summary("show a node's counters and roster")
    .description(
      'With http://HOST:PORT (a node started with --stats-port): every counter, gauge, document head and the roster, from GET /stats. ' +
        "With a node's outbound address (tcp://…): what its heartbeats say — epoch, document heads, ancestors, roster — with no server needed.",
    )
    .argument('<target>', 'http://127.0.0.1:PORT (stats server) or the outbound address tcp://HOST:PORT')
    .option('--watch', 'refresh every second until Ctrl-C')
    .option('--json', 'print JSON (one object per line with --watch)')
    .option('--timeout-ms <n>', 'give up when the node does not answer within this long', integer('--timeout-ms', 1), 3000)
    .option('--interval-ms <n>', 'refresh period of --watch', integer('--interval-ms', 100), 1000)
  addServerKeyOption(cmd, 'the node, for tcp:// targets (its --curve-public)')
  addKeyPairOptions(cmd)
  cmd.addHelpText(
    'after',
    `
Examples:
  $ zinc host --stats-port 9464 &
  $ zinc stats http://127.0.0.1:9464
  $ zinc stats http://127.0.0.1:9464 --watch
  $ zinc stats http://127.0.0.1:9464 --json | jq .stats.sequenced
  $ zinc stats tcp://127.0.0.1:7001          # heads and roster from heartbeats
  $ curl http://127.0.0.1:9464/metrics       # Prometheus text
`,
  )
  cmd.action(async (targetArg: string, flags: StatsFlags) => {
    const target = parseStatsTarget(targetArg)
    process.exitCode = target.kind === 'http' ? await httpStats(target.url, flags) : await pubStats(target.address, flags)
  })
  return cmd
}

/**
 * Fetches GET /stats; a `CliError` that says what to do when it fails. node:http rather than
 * fetch: fetch refuses "bad ports" (6000, 6665-6669, …) that a stats server may well use.
 */
export async function fetchStats(url: string, timeoutMs: number): Promise<StatsSnapshot> {
  const hint = 'Is the node running with --stats-port? It prints its stats address at start.'
  const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = (url.startsWith('https:') ? httpsGet : httpGet)(`${url}/stats`, { timeout: timeoutMs }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', (error) => reject(new CliError(`The stats server at ${url} broke off its answer (${error.message}). ${hint}`)))
    })
    req.on('timeout', () => req.destroy(new CliError(`Cannot reach the stats server at ${url}: no answer within ${timeoutMs} ms. ${hint}`)))
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error instanceof CliError) return reject(error)
      const why = error.code === 'ECONNREFUSED' ? 'connection refused (nothing listens there)' : (error.code ?? error.message)
      reject(new CliError(`Cannot reach the stats server at ${url}: ${why}. ${hint}`))
    })
  })
  if (status !== 200) throw new CliError(`${url}/stats answered HTTP ${status}: is this a zinc stats server (zinc host --stats-port)?`)
  try {
    return JSON.parse(body) as StatsSnapshot
  } catch {
    throw new CliError(`${url}/stats did not answer JSON: is this a zinc stats server (zinc host --stats-port)?`)
  }
}

function stopSignal(): { stopped: Promise<void>; dispose(): void } {
  let resolve!: () => void
  const stopped = new Promise<void>((r) => (resolve = r))
  const on = () => resolve()
  process.once('SIGINT', on)
  process.once('SIGTERM', on)
  return { stopped, dispose: () => (process.off('SIGINT', on), process.off('SIGTERM', on)) }
}

const CLEAR = '\u001b[2J\u001b[H'

async function httpStats(url: string, flags: StatsFlags): Promise<number> {
  const print = (s: StatsSnapshot) => {
    if (flags.json) process.stdout.write(JSON.stringify(s, null, flags.watch ? undefined : 2) + '\n')
    else process.stdout.write((flags.watch && process.stdout.isTTY ? CLEAR : '') + formatStatsText(s) + '\n' + (flags.watch && !process.stdout.isTTY ? '\n' : ''))
  }
  print(await fetchStats(url, flags.timeoutMs))
  if (!flags.watch) return 0
  const signal = stopSignal()
  let stop = false
  void signal.stopped.then(() => (stop = true))
  while (!stop) {
    // A live timer: it is what keeps the process waiting between refreshes.
    let timer: NodeJS.Timeout | undefined
    await Promise.race([signal.stopped, new Promise((r) => (timer = setTimeout(r, flags.intervalMs)))])
    clearTimeout(timer)
    if (stop) break
    try {
      print(await fetchStats(url, flags.timeoutMs))
    } catch (error) {
      process.stderr.write(`${(error as Error).message} (retrying)\n`)
    }
  }
  signal.dispose()
  return 0
}

async function pubStats(address: string, flags: StatsFlags): Promise<number> {
  const { ZmqTransport, generateKeyPair } = await import('@zinc/transport-zmq')
  const curve = curveOptions(flags, { bind: false, connect: true, ephemeralClient: generateKeyPair })
  const transport = new ZmqTransport({ ...(curve ? { curve } : {}) })
  let handshake: string | undefined
  transport.on('handshake-failed', (failure) => (handshake = failure.reason))
  const signal = stopSignal()
  let heard = false
  let interrupted = false
  void signal.stopped.then(() => {
    interrupted = true
    return transport.close()
  })
  const timer = setTimeout(() => {
    if (!heard) void transport.close()
  }, flags.timeoutMs)
  try {
    const sub = await transport.sub(address)
    sub.subscribe(CONTROL_TOPIC)
    let roster: WireRoster | undefined
    let lastPrint = 0
    for await (const frames of sub) {
      let view: HeartbeatView
      try {
        const m = decodeMessage(frames[1] ?? new Uint8Array(0), Infinity)
        if (m.kind === Kind.ROSTER) roster = decodeRoster(m.payload)
        if (m.kind !== Kind.HEARTBEAT) continue
        const hb = decodeHeartbeat(m.payload)
        view = { source: address, endpoint: m.origin, epoch: m.epoch, rosterVersion: hb.rosterVersion, heads: hb.heads, ancestors: hb.ancestors }
        if (roster) view.roster = roster
      } catch {
        continue // tail shows bad frames; stats only wants heartbeats
      }
      heard = true
      if (flags.watch && Date.now() - lastPrint < flags.intervalMs) continue
      lastPrint = Date.now()
      if (flags.json) process.stdout.write(JSON.stringify(view, null, flags.watch ? undefined : 2) + '\n')
      else process.stdout.write((flags.watch && process.stdout.isTTY ? CLEAR : '') + formatHeartbeatText(view) + '\n' + (flags.watch && !process.stdout.isTTY ? '\n' : ''))
      if (!flags.watch) break
    }
  } finally {
    clearTimeout(timer)
    signal.dispose()
    await transport.close()
  }
  if (!heard && !interrupted) {
    const error = silentNode(address, flags.timeoutMs, curve !== undefined, handshake)
    throw new CliError(`${error.message} For counters, run the node with --stats-port N and use zinc stats http://127.0.0.1:N.`)
  }
  return 0
}
