// The root of the `workers` scenario: handles 'render' (20 ms of CPU per message) inline, in a
// worker pool, or not at all (mode none | inline | worker), and measures what that costs its
// own event loop: the delay of its timers (heartbeats are timers) while the renders run.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Endpoint } from '@zinc/core'
import { ZmqTransport } from '@zinc/transport-zmq'
import { args, nowUs, serve } from '../lib/worker.mjs'
import render from './render-job.mjs'

const a = args()
let transport, ep, loop
let done = []

await serve(
  async () => {
    transport = new ZmqTransport()
    ep = await Endpoint.start({ transport, bind: { inbound: 'tcp://127.0.0.1:*', outbound: 'tcp://127.0.0.1:*' } })
    const finished = (r) => done.push((nowUs() - r.sentUs) / 1000)
    if (a.mode === 'inline') ep.handle('render', (m) => finished(render(m)))
    if (a.mode === 'worker') await ep.handle('render', { worker: new URL('./render-job.mjs', import.meta.url), ...(a.threads ? { threads: a.threads } : {}), onResult: finished })
    return { addresses: ep.addresses, pid: process.pid }
  },
  {
    start() {
      done = []
      loop = monitorEventLoopDelay({ resolution: 1 })
      loop.enable()
    },
    rendered: () => done.length,
    finish() {
      loop.disable()
      const s = ep.stats()
      return { renderMs: done, loopP99Ms: loop.percentile(99) / 1e6, loopMaxMs: loop.max / 1e6, workerTasks: s.workerTasks, handlerErrors: s.handlerErrors }
    },
    async stop() {
      await ep?.close()
      await transport?.close()
    },
  },
)
