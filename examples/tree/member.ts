/**
 * One endpoint of the tree example as its own process. Its role follows from its place: with
 * no `--join` it is the root; it is a relay once someone joins it, a leaf otherwise. Every
 * member opens the shared document (the cluster example's: unique tokens in an array, plus a
 * few shared keys) and prints one readable line per change it sees from others.
 *
 *   node examples/dist/tree/member.js --name a1 [--join '<addresses JSON>'] [--leaf | --bind '<addresses JSON>']
 *        [--heartbeat 250] [--peer-timeout 1500] [--storage <dir>] [--quiet] [--log warn]
 *
 * --leaf binds nothing (nobody can join it, and it can never be promoted); otherwise it binds
 * `--bind` (default loopback tcp on free ports). --storage makes a root durable (LMDB in <dir>).
 *
 * JSON lines on stdout (for a launcher or a test):
 *   ready {id, addresses, role}     role {role, epoch}     parent-lost     parent-back
 *   acked {tokens}: own changes the root sequenced (their `confirmed` resolved), in batches
 *   rejected {token, reason}        burst-done {made}      synced {seq}: every own change sequenced
 *   report {…}, status {…}          closed
 * stdin commands:
 *   go <count> [intervalMs]  make `count` changes, each pushing a unique token `<name>#<i>`;
 *   report [seq] [epoch]     print a report once the replica reached `seq` (and `epoch`) with nothing pending;
 *   status                   print a status line at once;   stop   close everything and exit.
 */
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { consoleLogger, Endpoint, opComponents, type DocumentFragment, type EndpointOptions, type LogLevel } from '@zinc/core'
import { LmdbStorage } from '@zinc/storage-lmdb'
import { ZmqTransport } from '@zinc/transport-zmq'
import { DOC_ID, INITIAL, report, stateHash, when, type Shared } from '../cluster/shared.js'

const { values: args } = parseArgs({
  options: {
    name: { type: 'string', default: `member-${process.pid}` },
    join: { type: 'string' },
    bind: { type: 'string', default: JSON.stringify({ inbound: 'tcp://127.0.0.1:*', outbound: 'tcp://127.0.0.1:*' }) },
    leaf: { type: 'boolean', default: false },
    heartbeat: { type: 'string' },
    'peer-timeout': { type: 'string' },
    storage: { type: 'string' },
    keys: { type: 'string', default: '5' },
    quiet: { type: 'boolean', default: false },
    log: { type: 'string' },
  },
})
const name = args.name
const number = (v: string | undefined) => (v === undefined ? undefined : Number(v))

const transport = new ZmqTransport()
const storage = args.storage ? await LmdbStorage.open(args.storage) : undefined
const options: EndpointOptions = {
  transport,
  ...(args.leaf ? {} : { bind: JSON.parse(args.bind) }),
  ...(args.join ? { join: JSON.parse(args.join) } : {}),
  heartbeatMs: number(args.heartbeat),
  peerTimeoutMs: number(args['peer-timeout']),
  storage,
  ...(args.log ? { logger: consoleLogger(args.log as LogLevel, { name }) } : {}),
}
const endpoint = await Endpoint.start(options)
const doc = await endpoint.open<Shared>(DOC_ID, endpoint.role === 'host' ? { initial: INITIAL } : {})
const say = (text: string) => args.quiet || console.log(`${name}: ${text}`)
say(`${endpoint.role} ${endpoint.id.slice(0, 8)}, document at seq ${doc.seq} with ${doc.state.tokens.length} tokens`)

endpoint.on('role', (role) => {
  say(`now ${role} (epoch ${endpoint.epoch})`)
  report({ type: 'role', name, role, epoch: endpoint.epoch })
})
let parentLost = false
endpoint.on('parent-lost', () => {
  parentLost = true
  say('parent lost')
  report({ type: 'parent-lost', name })
})
endpoint.on('parent-back', () => {
  parentLost = false
  say(`connected again as ${endpoint.role} (epoch ${endpoint.epoch})`)
  report({ type: 'parent-back', name, role: endpoint.role, epoch: endpoint.epoch })
})
doc.subscribe((state, _fragment, batch) => {
  for (const f of batch.filter((f) => !f.local)) say(`seq ${f.seq} ${describe(f)} → ${state.tokens.length} tokens`)
})

// Acknowledged own tokens, printed in batches (a burst acknowledges hundreds at once).
let acked: string[] = []
const flushAcks = () => {
  if (acked.length > 0) report({ type: 'acked', name, tokens: acked })
  acked = []
}
setInterval(flushAcks, 25).unref()

let made = 0
async function burst(count: number, intervalMs: number): Promise<void> {
  const keyCount = Number(args.keys)
  for (let n = 0; n < count; n++) {
    const i = made++
    const token = `${name}#${i}`
    const fragment = doc.change((d) => {
      d.tokens.push(token)
      d.keys[`k${i % keyCount}`] = token
    })!
    fragment.confirmed.then(
      () => void acked.push(token),
      (error: Error) => report({ type: 'rejected', name, token, reason: error.message }),
    )
    if (intervalMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * intervalMs))
  }
  report({ type: 'burst-done', name, made })
  try {
    await doc.synced({ timeoutMs: 120_000 })
    flushAcks()
    say(`all ${made} of my changes are sequenced; I see ${doc.state.tokens.length} tokens at seq ${doc.seq}`)
    report({ type: 'synced', name, seq: doc.seq })
  } catch (error) {
    report({ type: 'synced', name, seq: doc.seq, error: (error as Error).message })
  }
}

function snapshot(type: string): void {
  report({
    type,
    name,
    id: endpoint.id,
    role: endpoint.role,
    epoch: endpoint.epoch,
    parentLost,
    seq: doc.seq,
    pending: doc.pendingCount,
    made,
    hash: stateHash(doc.state),
    state: doc.state,
    peers: endpoint.peers.map((p) => p.id),
    stats: endpoint.stats(),
    t: Date.now(),
  })
}

let closing: Promise<void> | undefined
function shutdown(why: string): Promise<void> {
  return (closing ??= (async () => {
    say(`${why}, closing`)
    flushAcks()
    await endpoint.close()
    await transport.close()
    await storage?.close()
    report({ type: 'closed', name })
    process.exit(0)
  })())
}
process.once('SIGTERM', () => void shutdown('SIGTERM'))
process.once('SIGINT', () => void shutdown('SIGINT'))
process.stdin.once('end', () => void shutdown('launcher gone'))

createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, a, b] = line.trim().split(/\s+/)
  if (command === 'go') void burst(Number(a ?? 20), Number(b ?? 10))
  else if (command === 'status') snapshot('status')
  else if (command === 'stop') void shutdown('asked to stop')
  else if (command === 'report') {
    const seq = Number(a ?? 0)
    const epoch = Number(b ?? 0)
    when(
      () => doc.seq >= seq && endpoint.epoch >= epoch && doc.pendingCount === 0 && !parentLost,
      () => snapshot('report'),
    )
  }
})

report({ type: 'ready', name, id: endpoint.id, role: endpoint.role, epoch: endpoint.epoch, addresses: args.leaf ? undefined : endpoint.addresses })

/** "ada#3 (k3=ada#3)" from a fragment's operation. */
function describe(f: DocumentFragment): string {
  return opComponents(f.op)
    .map((c) => (c.path[0] === 'tokens' ? String(c.insert) : `(${c.path.slice(1).join('/')}=${String(c.insert)})`))
    .join(' ')
}
