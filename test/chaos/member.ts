/**
 * One member of the chaos cluster, as its own process: an endpoint over ZeroMQ tcp with its own
 * LMDB directory, bound on the ports the harness gave it (the same ones after every restart).
 * Writers make a change every `--write-every` ms and report each change whose `confirmed`
 * promise resolved, with when it was made and when it was confirmed.
 *
 *   node member.mjs --name w1 --incarnation 0 --bind '<addresses JSON>' --storage <dir>
 *        [--join '<JSON list of addresses, tried in order>'] [--write-every 50]
 *        [--heartbeat 150] [--peer-timeout 2000] [--log info] [--worker <note handler module path>]
 *        [--etcd 127.0.0.1:2379 --prefix <key prefix> --ttl <lease ms>]
 *
 * With --etcd the member is coordinated (`@zinc/coordinator-etcd`): etcd elects the root among
 * the members and the others join it; --join is not used then.
 *
 * Without --join it starts as a root, as a root's original command line does. With it, it
 * tries each address in turn (the original parent first) until one welcomes it: the harness
 * restarts a member with its original command line, when that parent may be dead.
 *
 * With --worker, every member handles the writers' notes (one every 10 changes, kind
 * 'chaos-note') in a worker thread: the faults must not make that handler fail
 * (`stats.worker*` in each status; a registration that fails is a `worker-failed` line).
 *
 * JSON lines on stdout: started {id, role, epoch, attempts}  role {role, epoch}  parent-lost
 *   parent-back {role, epoch}  acked {acks: [token, madeAt, confirmedAt][]}  rejected {token, reason}
 *   start-failed {address, error}  status {...}  dump {..., state}
 * Endpoint logs (JSON) on stderr. stdin: `status`, `dump`, `stop-writing`.
 */
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { consoleLogger, Endpoint, type Document, type EndpointAddresses, type EndpointOptions, type LogLevel } from '@zinc/core'
import { etcd } from '@zinc/coordinator-etcd'
import { LmdbStorage } from '@zinc/storage-lmdb'
import { ZmqTransport } from '@zinc/transport-zmq'
import { DOC_ID, initialDoc, stateHash, tokenOf, write, type ChaosDoc } from './doc.js'

const { values: args } = parseArgs({
  options: {
    name: { type: 'string' },
    incarnation: { type: 'string', default: '0' },
    bind: { type: 'string' },
    join: { type: 'string' },
    storage: { type: 'string' },
    'write-every': { type: 'string' },
    'max-pending': { type: 'string', default: '300' },
    heartbeat: { type: 'string', default: '150' },
    'peer-timeout': { type: 'string', default: '2000' },
    log: { type: 'string', default: 'info' },
    worker: { type: 'string' },
    etcd: { type: 'string' },
    prefix: { type: 'string', default: 'zinc-chaos/' },
    ttl: { type: 'string', default: '2000' },
  },
})
if (!args.name || !args.bind || !args.storage) {
  console.error('member needs --name, --bind and --storage')
  process.exit(2)
}
const name = args.name
const incarnation = Number(args.incarnation)
const bind = JSON.parse(args.bind) as EndpointAddresses
const joins = args.join ? (JSON.parse(args.join) as EndpointAddresses[]) : []
const report = (line: { type: string } & Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ ...line, name, inc: incarnation, t: Date.now() })}\n`)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
let made = 0
let parentLost = false
// Confirmed tokens, flushed in small batches (pipes are synchronous on Linux: a line written is out).
let acks: Array<[string, number, number]> = []
function flush(): void {
  if (acks.length > 0) report({ type: 'acked', acks })
  acks = []
}

const transport = new ZmqTransport()
const storage = await LmdbStorage.open(args.storage)
const base: Omit<EndpointOptions, 'transport'> = {
  bind,
  heartbeatMs: Number(args.heartbeat),
  peerTimeoutMs: Number(args['peer-timeout']),
  // A join attempt gives up quickly, so the next address of the list is tried soon. Coordinated,
  // a start also enters the etcd election and learns the leader first (a few round trips to
  // etcd, slow on a loaded machine): there is no list to go on to, so it waits longer.
  joinTimeoutMs: args.etcd ? 15_000 : 3_000,
  storage,
  logger: consoleLogger(args.log as LogLevel, { name, inc: incarnation }),
  ...(args.etcd ? { coordinator: etcd({ endpoints: [args.etcd], prefix: args.prefix!, leaseTtlMs: Number(args.ttl) }) } : {}),
}

/** Starts the endpoint; retries (a port still held, a parent gone) until it has one. */
async function start(): Promise<Endpoint> {
  for (let attempt = 1; ; attempt++) {
    for (const join of joins.length > 0 ? joins : [undefined]) {
      try {
        const endpoint = await Endpoint.start({ ...base, transport, ...(join ? { join } : {}) })
        report({ type: 'started', id: endpoint.id, role: endpoint.role, epoch: endpoint.epoch, attempts: attempt, joined: join?.inbound })
        return endpoint
      } catch (error) {
        report({ type: 'start-failed', address: join?.inbound, error: (error as Error).message })
      }
    }
    await sleep(300)
  }
}

let writing = args['write-every'] !== undefined
let endpoint: Endpoint | undefined
let doc: Document<ChaosDoc> | undefined
createInterface({ input: process.stdin }).on('line', (line) => {
  const command = line.trim()
  if (command === 'status') status(false)
  else if (command === 'dump') status(true)
  else if (command === 'stop-writing') {
    writing = false
    report({ type: 'stopped-writing', made })
  }
})
// The harness is gone: nobody is left to read what this process would say.
process.stdin.once('end', () => process.exit(0))

endpoint = await start()
const ep = endpoint
ep.on('role', (role) => report({ type: 'role', id: ep.id, role, epoch: ep.epoch }))
ep.on('parent-lost', () => {
  parentLost = true
  report({ type: 'parent-lost' })
})
ep.on('parent-back', () => {
  parentLost = false
  report({ type: 'parent-back', role: ep.role, epoch: ep.epoch })
})

async function open(): Promise<Document<ChaosDoc>> {
  for (;;) {
    try {
      return await ep.open<ChaosDoc>(DOC_ID, { initial: initialDoc(), timeoutMs: 10_000 })
    } catch (error) {
      report({ type: 'open-failed', error: (error as Error).message })
      await sleep(300)
    }
  }
}
if (args.worker) {
  await ep.handle('chaos-note', { worker: args.worker, threads: 1, timeoutMs: 10_000 }).catch((error: Error) => report({ type: 'worker-failed', error: error.message }))
}
doc = await open()
const d = doc
report({ type: 'opened', seq: d.seq })

setInterval(flush, 20)

const maxPending = Number(args['max-pending'])
function writeOne(): void {
  // While detached, pending changes pile up; past a bound, skip a tick rather than grow forever.
  if (d.pendingCount >= maxPending) return
  const token = tokenOf(name, incarnation, made++)
  const madeAt = Date.now()
  const fragment = d.change((draft) => write(draft, token))
  // A note for the worker handlers; while detached it goes nowhere (notes are not changes: best effort).
  if (args.worker && made % 10 === 0) ep.publish('chaos-note', token).catch(() => {})
  fragment?.confirmed.then(
    () => void acks.push([token, madeAt, Date.now()]),
    (error: Error) => report({ type: 'rejected', token, reason: error.message }),
  )
}
if (writing) {
  const every = Number(args['write-every'])
  const loop = () => {
    if (!writing) return
    writeOne()
    setTimeout(loop, every)
  }
  loop()
}

function status(withState: boolean): void {
  if (!endpoint || !doc) {
    // No endpoint yet: no parent has welcomed it. An endpoint but no document: open() keeps timing out.
    report({ type: withState ? 'dump' : 'status', starting: endpoint ? 'opening' : 'joining', role: endpoint?.role, id: endpoint?.id, parentLost })
    return
  }
  flush()
  // A root without children reports its old sibling roster as `peers` (it includes itself): no children then.
  const peers = endpoint.role === 'client' ? [] : endpoint.peers.map((p) => p.id)
  const children = peers.includes(endpoint.id) ? [] : peers
  report({
    type: withState ? 'dump' : 'status',
    id: endpoint.id,
    role: endpoint.role,
    epoch: endpoint.epoch,
    parentLost,
    seq: doc.seq,
    pending: doc.pendingCount,
    made,
    writing,
    hash: stateHash(doc.state),
    children,
    stats: endpoint.stats(),
    ...(withState ? { state: doc.state } : {}),
  })
}
