// Issue 19: the edge of a crowd. A root and one edge relay in this process (the relay joins
// the root in-process); the relay binds WebSocket for the leaves of crowd-tabs.mjs workers.
// Commands: mark (this process's CPU), change (the root changes the document; returns when).
import { Endpoint } from '@zinc/core'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { WsServerTransport } from '@zinc/transport-ws'
import { cpuMark, nowUs, serve } from '../lib/worker.mjs'
import { phaseProfiler } from '../lib/phase-profile.mjs'

const profiler = phaseProfiler()

let root, relay, ws, doc
// CROWDS_PEER_TIMEOUT_MS: another peer timeout for the edge and the tabs (heartbeats every fifth of it).
const liveness = process.env.CROWDS_PEER_TIMEOUT_MS ? { peerTimeoutMs: Number(process.env.CROWDS_PEER_TIMEOUT_MS) } : {}
await serve(
  async () => {
    const network = new InprocNetwork()
    root = await Endpoint.start({ transport: new InprocTransport(network, { node: 'root' }), bind: { inbound: 'inproc://root-in', outbound: 'inproc://root-out' } })
    doc = await root.open('crowd', { initial: { n: 0, sentUs: 0 } })
    ws = new WsServerTransport({ highWaterMark: 10_000 })
    relay = await Endpoint.start({
      transport: ws,
      joinTransport: new InprocTransport(network, { node: 'relay' }),
      join: root.addresses,
      ...liveness,
      bind: { inbound: 'ws://127.0.0.1:*/in', outbound: 'ws://127.0.0.1:*/out' },
    })
    await relay.open('crowd')
    return { pid: process.pid, addresses: relay.addresses }
  },
  {
    mark: () => ({
      wire: ws.stats(),
      sent: relay.stats().sentByKind,
      ...cpuMark(),
      children: relay.stats().children,
      heapUsed: process.memoryUsage().heapUsed,
      refusedBusy: relay.stats().refusedByCode['ERR_BUSY'] ?? 0,
      received: relay.stats().receivedByKind,
      throttled: relay.stats().throttled,
      dropped: relay.stats().dropped,
    }),
    profile: ({ file }) => (file ? profiler.stop(file) : profiler.start()),
    gc: () => (globalThis.gc?.(), globalThis.gc?.(), process.memoryUsage().heapUsed),
    change: ({ n }) => {
      const sentUs = nowUs()
      doc.change((s) => {
        s.n = n
        s.sentUs = sentUs
      })
      return { sentUs }
    },
    async stop() {
      await relay?.close()
      await root?.close()
      await ws?.close()
    },
  },
)
