/**
 * The root host of the cluster example: binds loopback tcp on free ports, opens the shared
 * document, and prints its resolved addresses as a JSON line for the launcher:
 *
 *   {"type":"ready","name":"root","addresses":{"inbound":"tcp://127.0.0.1:41231","outbound":"tcp://127.0.0.1:41232"}}
 *
 * Run by `main.js`, or alone: `node examples/dist/cluster/root.js`, then start clients with
 * `node examples/dist/cluster/client.js --join '<addresses JSON>' --name ada`.
 *
 * stdin commands: `report [seq]` prints {"type":"report",…} once the document reached `seq`.
 */
import { parseArgs } from 'node:util'
import { Endpoint } from '@zinc/core'
import { ZmqTransport } from '@zinc/transport-zmq'
import { closeOnSignal, DOC_ID, INITIAL, readCommands, report, stateHash, when, type Shared } from './shared.js'

// --peer-timeout <ms>: how long a silent client is kept (default: Zinc's, 1500 ms).
const { values: args } = parseArgs({ options: { 'peer-timeout': { type: 'string' } } })

const transport = new ZmqTransport()
const root = await Endpoint.start({
  transport,
  bind: { inbound: 'tcp://127.0.0.1:*', outbound: 'tcp://127.0.0.1:*' },
  ...(args['peer-timeout'] ? { peerTimeoutMs: Number(args['peer-timeout']) } : {}),
})
closeOnSignal('root', root, transport)
const doc = await root.open<Shared>(DOC_ID, { initial: INITIAL })

root.on('peers', (peers) => console.log(`root: ${peers.length} client(s) joined`))

readCommands((command, arg) => {
  if (command !== 'report') return
  const want = Number(arg ?? 0)
  when(
    () => doc.seq >= want,
    () => report({ type: 'report', name: 'root', seq: doc.seq, pending: doc.pendingCount, hash: stateHash(doc.state), state: doc.state, stats: root.stats() }),
  )
})

console.log(`root: host ${root.id.slice(0, 8)} listening on ${root.addresses.inbound} (in) and ${root.addresses.outbound} (out)`)
report({ type: 'ready', name: 'root', id: root.id, addresses: root.addresses })
