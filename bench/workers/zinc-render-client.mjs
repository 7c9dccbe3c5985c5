// The client of the `workers` scenario: publishes 'render' messages at a steady rate while it
// edits another document and times each change until the root confirms it, and watches the
// gaps between the root's heartbeats.
import { Endpoint } from '@zinc/core'
import { ZmqTransport } from '@zinc/transport-zmq'
import { args, nowUs, serve, sleep } from '../lib/worker.mjs'

const a = args()
let transport, ep, doc

await serve(
  async () => {
    transport = new ZmqTransport()
    ep = await Endpoint.start({ transport, join: a.join, joinTimeoutMs: 60_000 })
    doc = await ep.open('other', { initial: { n: 0 } })
    return { pid: process.pid }
  },
  {
    async run({ rate, seconds, probeHz }) {
      const confirmMs = []
      const beatGapsMs = []
      let published = 0
      let lastBeats = ep.stats().receivedByKind.HEARTBEAT ?? 0
      let lastBeatAt = performance.now()
      const watch = setInterval(() => {
        const beats = ep.stats().receivedByKind.HEARTBEAT ?? 0
        if (beats === lastBeats) return
        const now = performance.now()
        beatGapsMs.push(now - lastBeatAt)
        lastBeats = beats
        lastBeatAt = now
      }, 2)
      const publisher = setInterval(() => void ep.publish('render', { sentUs: nowUs(), n: published++ }), 1000 / rate)
      const probes = []
      const prober = setInterval(() => {
        const t0 = performance.now()
        const f = doc.change((d) => void (d.n += 1))
        if (f) probes.push(f.confirmed.then(() => confirmMs.push(performance.now() - t0)))
      }, 1000 / probeHz)
      await sleep(seconds * 1000)
      clearInterval(publisher)
      clearInterval(prober)
      await Promise.allSettled(probes)
      clearInterval(watch)
      return { published, confirmMs, beatGapsMs }
    },
    async stop() {
      await ep?.close()
      await transport?.close()
    },
  },
)
