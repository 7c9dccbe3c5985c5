/**
 * Embedding Zinc: a host and three clients in one process, on the in-process transport.
 * Each client edits a shared board at the same time; every replica converges to the
 * root's state. Run: `npm run embed` (or `node examples/dist/embed/main.js` after `npx tsc -b`).
 */
import { Endpoint } from '@zinc/core'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'

type Board = { notes: Record<string, { text: string; by: string }>; order: string[] }

const network = new InprocNetwork()
const transport = new InprocTransport(network)

const host = await Endpoint.start({ transport, bind: { inbound: 'inproc://host-in', outbound: 'inproc://host-out' } })
const board = await host.open<Board>('board-1', { initial: { notes: {}, order: [] } })
console.log(`host ${host.id.slice(0, 8)} is the ${host.role}, bound at ${host.addresses.inbound}`)

const names = ['ada', 'grace', 'alan']
const clients = await Promise.all(names.map((_, i) => Endpoint.start({ transport, bind: { inbound: `inproc://c${i}-in`, outbound: `inproc://c${i}-out` }, join: host.addresses })))
const docs = await Promise.all(clients.map((c) => c.open<Board>('board-1')))
docs.forEach((doc, i) => doc.subscribe((state) => console.log(`  ${names[i]!.padEnd(5)} sees ${state.order.length} notes (seq ${doc.seq})`)))

// Everyone writes at once: each change is applied locally at once, then sequenced by the root.
for (let round = 0; round < 3; round++) {
  docs.forEach((doc, i) =>
    doc.change((d) => {
      const id = `${names[i]}-${round}`
      d.notes[id] = { text: `note ${round} from ${names[i]}`, by: names[i]! }
      d.order.push(id)
    }),
  )
}
docs[0]!.presence.set({ cursor: [10, 20], name: 'ada' })
await Promise.all(docs.map((d) => d.synced()))
// Every replica has applied everything the root has sequenced (no sleeping and hoping).
await Promise.all(docs.map((d) => d.whenSeq(board.seq)))
// Presence is not sequenced: wait for ada's cursor to reach alan.
while (docs[2]!.presence.get().size === 0) await new Promise((resolve) => docs[2]!.once('presence', resolve))

const expected = JSON.stringify(board.state)
const same = docs.every((d) => JSON.stringify(d.state) === expected && d.seq === board.seq)
console.log(`root has ${board.state.order.length} notes at seq ${board.seq}; every replica equal: ${same}`)
console.log(`presence seen by alan: ${JSON.stringify([...docs[2]!.presence.get().values()])}`)

await Promise.all([...clients.map((c) => c.close()), host.close()])
if (!same) process.exit(1)
