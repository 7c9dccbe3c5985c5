/**
 * One member of the sharded chaos cluster (docs/chaos.md, "Sharded"), as its own process:
 *
 *   node sharded-member.mjs --name h0 --incarnation 0 --host --storage <dir> --shards 8 \
 *        --etcd 127.0.0.1:2379 --prefix <key prefix> --ttl 2000 [--heartbeat 150] [--peer-timeout 2000]
 *   node sharded-member.mjs --name w1 --incarnation 0 --docs '["d0",…]' --write-every 60 --etcd … --prefix … --ttl …
 *
 * A host is a `ShardedHost` under the id `--name` (the same after a restart), one LMDB store
 * per shard (`<storage>/shard-<k>`), its endpoints bound on fresh ports (etcd names them). A
 * writer is a `Forest` that opens every document of `--docs` and writes change i to document
 * ⌊i/3⌋ mod docs (so each document gets all three kinds of doc.ts); each confirmed change is
 * reported as in member.ts, with its document.
 *
 * JSON lines on stdout: started  role {shard, role, epoch} (hosts, per shard endpoint)  opened
 *   acked {acks: [token, madeAt, confirmedAt, doc][]}  rejected {token, reason}
 *   status / dump: hosts {led, assigned, hosts, endpoints, docs}; writers {docs, made};
 *   `docs` maps each document this process holds (a host: those of the shards it leads) to
 *   {seq, pending, hash} (dump: and state).
 * Endpoint logs (JSON) on stderr. stdin: `status`, `dump`, `stop-writing`.
 */
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { consoleLogger, type Document, type Endpoint, type LogLevel } from '@zinc/core'
import { Forest, ShardedHost, type ShardEndpointOptions } from '@zinc/coordinator-etcd'
import { LmdbStorage } from '@zinc/storage-lmdb'
import { ZmqTransport } from '@zinc/transport-zmq'
import { initialDoc, stateHash, tokenOf, write, type ChaosDoc } from './doc.js'

const { values: args } = parseArgs({
  options: {
    name: { type: 'string' },
    incarnation: { type: 'string', default: '0' },
    host: { type: 'boolean', default: false },
    storage: { type: 'string' },
    shards: { type: 'string', default: '8' },
    docs: { type: 'string', default: '[]' },
    'write-every': { type: 'string', default: '60' },
    'max-pending': { type: 'string', default: '300' },
    heartbeat: { type: 'string', default: '150' },
    'peer-timeout': { type: 'string', default: '2000' },
    log: { type: 'string', default: 'info' },
    etcd: { type: 'string' },
    prefix: { type: 'string' },
    ttl: { type: 'string', default: '2000' },
  },
})
if (!args.name || !args.etcd || !args.prefix || (args.host && !args.storage)) {
  console.error('sharded-member needs --name, --etcd, --prefix (and --storage for a host)')
  process.exit(2)
}
const name = args.name
const incarnation = Number(args.incarnation)
const report = (line: { type: string } & Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ ...line, name, inc: incarnation, t: Date.now() })}\n`)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const transport = new ZmqTransport()
const coordination = { endpoints: [args.etcd], prefix: args.prefix, leaseTtlMs: Number(args.ttl) }
const endpointOptions = (shard: number): ShardEndpointOptions => ({
  transport,
  bind: { inbound: 'tcp://127.0.0.1:*', outbound: 'tcp://127.0.0.1:*' },
  heartbeatMs: Number(args.heartbeat),
  peerTimeoutMs: Number(args['peer-timeout']),
  // Joining a shard's root goes through etcd (slow on a loaded machine): wait long.
  joinTimeoutMs: 30_000,
  logger: consoleLogger(args.log as LogLevel, { name: `${name}/${shard}`, inc: incarnation }),
})

let reply: (withState: boolean) => Promise<Record<string, unknown>> = async () => ({ starting: 'joining' })
createInterface({ input: process.stdin }).on('line', (line) => {
  const command = line.trim()
  if (command === 'status' || command === 'dump') void reply(command === 'dump').then((fields) => report({ type: command, ...fields }))
  else if (command === 'stop-writing') stopWriting()
})
// The harness is gone: nobody is left to read what this process would say.
process.stdin.once('end', () => process.exit(0))

const describe = (doc: Document<ChaosDoc>, withState: boolean) => ({
  seq: doc.seq,
  pending: doc.pendingCount,
  hash: stateHash(doc.state),
  ...(withState ? { state: doc.state } : {}),
})

let stopWriting = () => {}
if (args.host) await runHost()
else await runWriter()

async function runHost(): Promise<void> {
  const stores: LmdbStorage[] = []
  for (let shard = 0; shard < Number(args.shards); shard++) stores.push(await LmdbStorage.open(`${args.storage}/shard-${shard}`))
  const host = await ShardedHost.start({ ...coordination, shards: Number(args.shards), id: name, endpoint: (shard) => ({ ...endpointOptions(shard), storage: stores[shard] }) })
  const endpoints = Array.from({ length: host.shards }, (_, shard) => host.endpoint(shard))
  endpoints.forEach((e, shard) => e.on('role', (role) => report({ type: 'role', shard, role, epoch: e.epoch })))
  report({ type: 'started', led: host.led(), roles: endpoints.map((e, shard) => ({ shard, role: e.role, epoch: e.epoch })) })
  reply = async (withState) => {
    const stats = host.stats()
    // The root's own copy of every document of the shards it leads (opening one it holds is local).
    const docs: Record<string, unknown> = {}
    for (const shard of stats.led) {
      const e: Endpoint = host.endpoint(shard)
      for (const id of Object.keys(e.stats().docs)) {
        const doc = await e.open<ChaosDoc>(id, { timeoutMs: 3_000 }).catch(() => undefined)
        if (doc) docs[id] = { shard, ...describe(doc, withState) }
      }
    }
    return { led: stats.led, assigned: stats.assigned, hosts: stats.hosts, endpoints: stats.endpoints, docs }
  }
  report({ type: 'opened' })
}

async function runWriter(): Promise<void> {
  const ids = JSON.parse(args.docs) as string[]
  let forest: Forest | undefined
  while (!forest) forest = await Forest.start({ ...coordination, endpoint: endpointOptions }).catch((error: Error) => void report({ type: 'start-failed', error: error.message }))
  report({ type: 'started', shards: ids.map((id) => forest.shardOf(id)) })
  const docs: Array<Document<ChaosDoc>> = []
  for (const id of ids)
    for (;;) {
      try {
        docs.push(await forest.open<ChaosDoc>(id, { initial: initialDoc(), timeoutMs: 15_000 }))
        break
      } catch (error) {
        report({ type: 'open-failed', doc: id, error: (error as Error).message })
        await sleep(300)
      }
    }
  let made = 0
  let writing = true
  reply = async (withState) => ({ made, writing, docs: Object.fromEntries(docs.map((d, i) => [ids[i], { shard: forest.shardOf(ids[i]!), ...describe(d, withState) }])) })
  report({ type: 'opened' })
  // Confirmed tokens, flushed in small batches (pipes are synchronous on Linux: a line written is out).
  let acks: Array<[string, number, number, string]> = []
  setInterval(() => {
    if (acks.length > 0) report({ type: 'acked', acks })
    acks = []
  }, 20)
  stopWriting = () => {
    writing = false
    report({ type: 'stopped-writing', made })
  }
  const maxPending = Number(args['max-pending'])
  const loop = () => {
    if (!writing) return
    const i = Math.floor(made / 3) % docs.length
    const doc = docs[i]!
    // While detached, pending changes pile up; past a bound, skip a tick rather than grow forever.
    if (doc.pendingCount < maxPending) {
      const token = tokenOf(name, incarnation, made++)
      const madeAt = Date.now()
      doc
        .change((draft) => write(draft, token))
        ?.confirmed.then(
          () => void acks.push([token, madeAt, Date.now(), ids[i]!]),
          (error: Error) => report({ type: 'rejected', token, doc: ids[i], reason: error.message }),
        )
    }
    setTimeout(loop, Number(args['write-every']))
  }
  loop()
}
