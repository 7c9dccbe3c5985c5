// A Forest (the client side of a sharded deployment) writing to many documents:
// bench/scenarios/shards.mjs.
import { Forest } from '@zinc/coordinator-etcd'
import { ZmqTransport } from '@zinc/transport-zmq'
import { shardOptions } from '../lib/shard-options.mjs'
import { args, cpuMark, serve, sleep } from '../lib/worker.mjs'

const a = args()
let forest
let transport
const docs = []
let n = 0

await serve(
  async () => {
    transport = new ZmqTransport()
    forest = await Forest.start(shardOptions(a, transport))
    return {}
  },
  {
    /** Opens every document and confirms one change in each; the wall time in ms. */
    open: async ({ ids }) => {
      const t0 = performance.now()
      const opened = await Promise.all(ids.map((id) => forest.open(id, { initial: { n: 0, log: [] }, timeoutMs: 60_000 })))
      for (const d of opened) d.change((s) => void (s.n = 1))
      await Promise.all(opened.map((d) => d.synced({ timeoutMs: 60_000 })))
      docs.push(...opened)
      return { ms: performance.now() - t0 }
    },
    /** Writes on every document for `seconds`, at most `window` unconfirmed per document. */
    flood: async ({ seconds, window }) => {
      const m0 = cpuMark()
      const end = performance.now() + seconds * 1000
      let made = 0
      const byShard = Array(forest.shards).fill(0)
      while (performance.now() < end) {
        for (const d of docs)
          if (d.pendingCount < window) {
            d.change((s) => void (s.n = ++n))
            made++
            byShard[forest.shardOf(d.id)]++
          }
        await sleep(1)
      }
      return { made, byShard, m0, m1: cpuMark() }
    },
    /** One change on every document; ms until all are confirmed. */
    probe: async ({ timeoutMs }) => {
      const t0 = performance.now()
      for (const d of docs) d.change((s) => void s.log.push(++n))
      await Promise.all(docs.map((d) => d.synced({ timeoutMs })))
      return { ms: performance.now() - t0 }
    },
    settle: async ({ timeoutMs }) => {
      await Promise.all(docs.map((d) => d.synced({ timeoutMs })))
      return true
    },
    stop: async () => {
      await forest.close()
      await transport.close()
    },
  },
)
