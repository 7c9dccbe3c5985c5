/**
 * A client of the cluster example: joins the root over tcp, opens the shared document and,
 * on `go`, makes `--changes` edits: each pushes a unique token (`<name>#<i>`) into the shared
 * array and overwrites one of a few shared keys. It prints one readable line per change it
 * sees from others, and `{"type":"synced",…}` once the root has sequenced all of its own.
 *
 *   node examples/dist/cluster/client.js --join '{"inbound":"tcp://…","outbound":"tcp://…"}' --name ada [--changes 20] [--interval 10] [--keys 5] [--quiet] [--peer-timeout 1500]
 *
 * The root's addresses may also come from the ZINC_JOIN environment variable (the same JSON).
 * stdin commands: `go` starts editing; `report [seq]` prints {"type":"report",…} once this
 * replica has reached `seq` with nothing pending; `stop` closes the endpoint and exits.
 */
import { parseArgs } from 'node:util'
import { Endpoint, opComponents, type DocumentFragment } from '@zinc/core'
import { ZmqTransport } from '@zinc/transport-zmq'
import { closeOnSignal, DOC_ID, readCommands, report, stateHash, when, type Shared } from './shared.js'

const { values: args } = parseArgs({
  options: {
    join: { type: 'string', default: process.env.ZINC_JOIN },
    name: { type: 'string', default: `client-${process.pid}` },
    changes: { type: 'string', default: '20' },
    interval: { type: 'string', default: '10' },
    keys: { type: 'string', default: '5' },
    quiet: { type: 'boolean', default: false },
    'peer-timeout': { type: 'string' },
  },
})
if (!args.join) throw new Error('client: pass the root addresses with --join \'{"inbound":…,"outbound":…}\' or ZINC_JOIN')
const name = args.name
const changes = Number(args.changes)
const interval = Number(args.interval)
const keyCount = Number(args.keys)

const transport = new ZmqTransport()
const client = await Endpoint.start({
  transport,
  bind: { inbound: 'tcp://127.0.0.1:*', outbound: 'tcp://127.0.0.1:*' },
  join: JSON.parse(args.join),
  ...(args['peer-timeout'] ? { peerTimeoutMs: Number(args['peer-timeout']) } : {}),
})
const stop = closeOnSignal(name, client, transport)
const doc = await client.open<Shared>(DOC_ID)
console.log(`${name}: joined as ${client.role} ${client.id.slice(0, 8)}, document at seq ${doc.seq} with ${doc.state.tokens.length} tokens`)

// One line per change made by someone else (a tick's worth of them arrive as one batch).
doc.subscribe((state, _fragment, batch) => {
  if (args.quiet) return
  for (const f of batch.filter((f) => !f.local)) console.log(`${name}: seq ${f.seq} ${describe(f)} → ${state.tokens.length} tokens`)
})
doc.onRejected((error) => console.log(`${name}: change rolled back: ${error.message}`))

async function edit(): Promise<void> {
  for (let i = 0; i < changes; i++) {
    doc.change((d) => {
      d.tokens.push(`${name}#${i}`)
      d.keys[`k${i % keyCount}`] = `${name}#${i}`
    })
    if (interval > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * interval))
  }
  await doc.synced({ timeoutMs: 60_000 })
  console.log(`${name}: all ${changes} of my changes are sequenced; I see ${doc.state.tokens.length} tokens at seq ${doc.seq}`)
  report({ type: 'synced', name, seq: doc.seq })
}

readCommands((command, arg) => {
  if (command === 'go') void edit()
  if (command === 'stop') void stop()
  if (command === 'report') {
    const want = Number(arg ?? 0)
    when(
      () => doc.seq >= want && doc.pendingCount === 0,
      () => report({ type: 'report', name, seq: doc.seq, pending: doc.pendingCount, hash: stateHash(doc.state), state: doc.state, stats: client.stats() }),
    )
  }
})
report({ type: 'ready', name, id: client.id })

/** "ada#3 (k3=ada#3)" from the fragment's operation. */
function describe(f: DocumentFragment): string {
  return opComponents(f.op)
    .sort((a, b) => (a.path[0] === 'tokens' ? -1 : b.path[0] === 'tokens' ? 1 : 0))
    .map((c) => (c.path[0] === 'tokens' ? String(c.insert) : c.path[0] === 'keys' ? `(${String(c.path[1])}=${String(c.insert)})` : `${c.insert !== undefined ? 'set' : 'remove'} ${c.path.join('/')}`))
    .join(' ')
}
