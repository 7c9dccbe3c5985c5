// A Zinc root host in its own process. Seeds documents on demand; reports CPU and counters.
import { Endpoint } from '@zinc/core'
import { ZmqTransport } from '@zinc/transport-zmq'
import { args, cpuMark, nowUs, serve } from '../lib/worker.mjs'
import { fragmentTime, makeInitial } from '../lib/payload.mjs'
import { benchLogger, traced } from '../lib/trace.mjs'

const a = args()
const logger = benchLogger('zinc-root') // ZINC_BENCH_LOG=<dir> (lib/trace.mjs); undefined: silent
let transport, ep
const docs = new Map()
let samples = []

await serve(
  async () => {
    transport = await traced(new ZmqTransport(a.hwm ? { highWaterMark: a.hwm } : {}), logger)
    ep = await Endpoint.start({
      transport,
      ...(logger ? { logger } : {}),
      bind: { inbound: 'tcp://127.0.0.1:*', outbound: 'tcp://127.0.0.1:*' },
      ...(a.heartbeatMs ? { heartbeatMs: a.heartbeatMs, peerTimeoutMs: a.peerTimeoutMs ?? a.heartbeatMs * 6 } : {}),
      ...(a.maxMessageBytes ? { maxMessageBytes: a.maxMessageBytes } : {}),
    })
    return { addresses: ep.addresses, id: ep.id, pid: process.pid }
  },
  {
    async open({ doc, initial }) {
      const t0 = performance.now()
      const state = makeInitial(initial)
      const built = performance.now()
      docs.set(doc, await ep.open(doc, { initial: state }))
      return { buildMs: built - t0, openMs: performance.now() - built }
    },
    mark() {
      const s = ep.stats()
      return { ...cpuMark(), sequenced: s.sequenced ?? 0, received: s.received, sent: s.sent, children: s.children, mem: process.memoryUsage() }
    },
    stats: () => ep.stats(),
    // When each fragment is in the root's state (sequenced and applied), µs after it was made:
    // the first hop of scenarios/tree.mjs's breakdown.
    listen({ doc }) {
      docs.get(doc).subscribe((state, fragment, batch) => {
        const now = nowUs()
        for (const f of batch) {
          const t = fragmentTime(f)
          if (t !== undefined && samples.length < 1_000_000) samples.push(now - t)
        }
      })
      return true
    },
    reset() {
      samples = []
      return true
    },
    samples: () => samples,
    async stop() {
      await ep?.close()
      await transport?.close()
    },
  },
)
