// Memory per endpoint, per open document and per logged fragment, measured with
// process.memoryUsage() deltas after forced GCs (run with --expose-gc). Root and clients share
// this process, so "per endpoint" includes the root's roster entry for it, and "per document"
// and "per fragment" include both the root's and the client's replica.
import { Endpoint } from '@zinc/core'
import { ZmqTransport } from '@zinc/transport-zmq'
import { Pull, Publisher, Push, Subscriber } from 'zeromq'
import { args, serve, sleep } from '../lib/worker.mjs'

args()
const transport = new ZmqTransport()
const bind = () => ({ inbound: 'tcp://127.0.0.1:*', outbound: 'tcp://127.0.0.1:*' })
let root

async function settle() {
  for (let i = 0; i < 4; i++) {
    global.gc?.()
    await sleep(50)
  }
  const m = process.memoryUsage()
  // `external` already includes `arrayBuffers` (Node's docs): adding both counted every
  // Buffer/ArrayBuffer twice, inflating "per logged fragment" by its envelope bytes.
  return { heap: m.heapUsed + m.external, rss: m.rss }
}
const per = (m0, m1, n) => ({ heap: (m1.heap - m0.heap) / n, rss: (m1.rss - m0.rss) / n })

await serve(
  async () => {
    if (!global.gc) throw new Error('run with --expose-gc')
    root = await Endpoint.start({ transport, bind: bind() })
    return { pid: process.pid }
  },
  {
    async endpoints({ n }) {
      const m0 = await settle()
      const eps = []
      for (let i = 0; i < n; i += 16) eps.push(...(await Promise.all(Array.from({ length: Math.min(16, n - i) }, () => Endpoint.start({ transport, join: root.addresses })))))
      await sleep(300)
      const m1 = await settle()
      await Promise.all(eps.map((e) => e.close()))
      return per(m0, m1, n)
    },
    async rawEndpoints({ n }) {
      const pull = new Pull({ linger: 0 }),
        pub = new Publisher({ linger: 0 })
      await pull.bind('tcp://127.0.0.1:*')
      await pub.bind('tcp://127.0.0.1:*')
      const m0 = await settle()
      const socks = []
      for (let i = 0; i < n; i++) {
        const p = new Push({ linger: 0 }),
          s = new Subscriber({ linger: 0 })
        p.connect(pull.lastEndpoint)
        s.connect(pub.lastEndpoint)
        s.subscribe('c')
        socks.push(p, s)
      }
      await sleep(300)
      const m1 = await settle()
      for (const s of [...socks, pull, pub]) s.close()
      return per(m0, m1, n)
    },
    async docs({ n }) {
      const ep = await Endpoint.start({ transport, join: root.addresses })
      const m0 = await settle()
      const docs = []
      for (let i = 0; i < n; i += 16)
        docs.push(...(await Promise.all(Array.from({ length: Math.min(16, n - i) }, (_, j) => ep.open(`doc-${i + j}`, { initial: { title: `doc ${i + j}`, items: {} } })))))
      const m1 = await settle()
      await ep.close()
      return per(m0, m1, n)
    },
    async fragments({ n, size }) {
      const ep = await Endpoint.start({ transport, join: root.addresses })
      const doc = await ep.open('log', { initial: { v: null } })
      const pad = 'x'.repeat(size)
      // Warm up (immer, codecs), then measure n more fragments logged at both replicas.
      for (let i = 0; i < 200; i++) doc.change((d) => void (d.v = { i, pad }))
      await doc.synced()
      const m0 = await settle()
      for (let i = 0; i < n; i++) {
        doc.change((d) => void (d.v = { i, pad }))
        if (i % 200 === 199) await doc.synced()
      }
      await doc.synced()
      await sleep(100)
      const m1 = await settle()
      await ep.close()
      return per(m0, m1, n)
    },
    async soak({ minutes, rate }) {
      const ep = await Endpoint.start({ transport, join: root.addresses })
      const doc = await ep.open('soak', { initial: { shapes: {} } })
      const points = []
      const start = Date.now()
      let i = 0
      let nextSample = 0
      while (Date.now() - start < minutes * 60_000) {
        const due = Math.floor(((Date.now() - start) * rate) / 1000)
        while (i < due) {
          const id = `s${i % 500}`
          doc.change((d) => void (d.shapes[id] = { x: i, y: i }))
          i++
        }
        if (Date.now() - start >= nextSample) {
          points.push({ s: (Date.now() - start) / 1000, ...(await settle()) })
          nextSample += 10_000
        }
        await sleep(5)
      }
      await ep.close()
      return points
    },
    async stop() {
      await root?.close()
      await transport.close()
    },
  },
)
