/**
 * One coordinated member as its own process, for the pause test (SIGSTOP is per process).
 *   node member.mjs --name m0 --etcd 127.0.0.1:2379 --prefix zinc-x/ --ttl 2000
 * JSON lines on stdout:
 *   ready {name, role, epoch}   role {name, role, epoch, t}
 *   seen {name, epoch, seq, sequenced, t, afterGap}: this member sequenced (confirmed) changes since the last sample
 *   acked {name, tokens}: own changes confirmed     burst-done {name, made}
 *   report {name, tokens, seq, epoch, role, pending, stats}
 * stdin: `go <count> <intervalMs>`, `report`, `stop`.
 */
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { consoleLogger, Endpoint } from '@zinc/core'
import { ZmqTransport } from '@zinc/transport-zmq'
import { etcd } from '../dist/index.js'

const { values: args } = parseArgs({ options: { name: { type: 'string' }, etcd: { type: 'string' }, prefix: { type: 'string' }, ttl: { type: 'string', default: '2000' } } })
const name = args.name
const out = (line) => process.stdout.write(`${JSON.stringify({ ...line, name })}\n`)
const transport = new ZmqTransport()
const endpoint = await Endpoint.start({
  transport,
  bind: { inbound: 'tcp://127.0.0.1:*', outbound: 'tcp://127.0.0.1:*' },
  heartbeatMs: 100,
  peerTimeoutMs: 1500,
  joinTimeoutMs: 30_000,
  coordinator: etcd({ endpoints: [args.etcd], prefix: args.prefix, leaseTtlMs: Number(args.ttl) }),
  ...(process.env.ZINC_LOG ? { logger: consoleLogger(process.env.ZINC_LOG, { name }) } : {}),
})
endpoint.on('role', (role) => out({ type: 'role', role, epoch: endpoint.epoch, t: Date.now() }))
const doc = await endpoint.open('doc', { initial: { tokens: [] } })
// What this member sequenced itself (stats().sequenced counts only that, not catch-ups or its
// own optimistic changes), sampled every 10 ms: each rise is a confirmation given since the last
// sample. The first sample after a gap (the process was stopped) cannot tell whether what it sees
// was sequenced before the stop or after it, so it says so (`afterGap`); timers run before any
// input is read after a SIGCONT, so nothing sequenced after the pause hides in that sample.
let sequenced = 0
let lastSample = Date.now()
setInterval(() => {
  const t = Date.now()
  const afterGap = t - lastSample > 200
  lastSample = t
  const now = endpoint.stats().sequenced
  if (now > sequenced) out({ type: 'seen', epoch: endpoint.epoch, seq: doc.seq, sequenced: now, t, afterGap })
  sequenced = now
}, 10).unref()

let acked = []
setInterval(() => {
  if (acked.length > 0) out({ type: 'acked', tokens: acked })
  acked = []
}, 25).unref()

let made = 0
async function burst(count, intervalMs) {
  for (let n = 0; n < count; n++) {
    const token = `${name}#${made++}`
    const fragment = doc.change((d) => void d.tokens.push(token))
    fragment.confirmed.then(
      () => void acked.push(token),
      (error) => out({ type: 'rejected', token, reason: error.message }),
    )
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
  out({ type: 'burst-done', made })
}

function report() {
  const check = () => {
    if (doc.pendingCount > 0) return void setTimeout(check, 20)
    out({ type: 'report', tokens: doc.state.tokens, seq: doc.seq, epoch: endpoint.epoch, role: endpoint.role, stats: endpoint.stats() })
  }
  check()
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, a, b] = line.trim().split(/\s+/)
  if (command === 'go') void burst(Number(a), Number(b))
  else if (command === 'report') report()
  else if (command === 'stop')
    void endpoint
      .close()
      .then(() => transport.close())
      .then(() => process.exit(0))
})
process.stdin.once('end', () => process.exit(0))
out({ type: 'ready', role: endpoint.role, epoch: endpoint.epoch })
