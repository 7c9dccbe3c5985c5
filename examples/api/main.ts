import { Endpoint, keyed, type Keyed } from '@zinc/core'
import { ZmqTransport } from '@zinc/transport-zmq' // or InprocTransport / WsServerTransport

const transport = new ZmqTransport()
const bind = { inbound: 'tcp://127.0.0.1:*', outbound: 'tcp://127.0.0.1:*' } // * = any free port
const host = await Endpoint.start({ transport, bind })                         // no `join`: a root host
const client = await Endpoint.start({ transport, bind, join: host.addresses })
client.on('role', (role) => console.log('now', role))                          // 'host' | 'relay' | 'client'

type Shape = { x: number; y: number; color: string }
type Canvas = { shapes: Keyed<Shape> }         // a keyed collection: cheap changes on 10,000 entries
const doc = await client.open<Canvas>('board-1', { initial: { shapes: keyed.empty() } }) // seeds a new document only
const stop = doc.subscribe((state) => console.log('shapes', [...keyed.values(state.shapes)]))

const fragment = doc.change((d) => keyed.set(d.shapes, 's1', { x: 10, y: 20, color: 'red' })) // applied at once
await fragment?.confirmed                      // sequenced by the root (rejects if the root refused it);
                                               // change() returns undefined when the recipe changed nothing
doc.change((d) => {
  keyed.draftOf(d.shapes, 's1')!.x++           // a recipe mutates its draft and returns nothing
}, { undoGroup: 'drag-1' })                    // changes with one undoGroup are one undo step
doc.undo(); doc.redo()                         // this endpoint's own changes only
await doc.synced()                             // every local change so far is sequenced
doc.presence.set({ cursor: [10, 20] })         // ephemeral; gone when the peer leaves

const heard = new Promise((resolve) => client.handle('chat', (message) => resolve(message.payload)))
await host.publish('chat', { text: 'hello' })  // every endpoint but the origin; bytes, text or JSON
console.log('chat', await heard)
console.log('sent', client.stats().sent)       // counters, gauges, handler latency histogram
stop()
await client.close(); await host.close(); await transport.close()
