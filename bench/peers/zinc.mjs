// Zinc as a peer system (issue 17): a root host in the server process, one endpoint per client,
// over ZeroMQ (tcp) or over the WebSocket transport (the edge a browser tab would use).
import { pathToFileURL } from 'node:url'
import * as thisCore from '@zinc/core'
import { ZmqTransport } from '@zinc/transport-zmq'
import { WsServerTransport } from '@zinc/transport-ws'
import { fragmentTime } from '../lib/payload.mjs'

const HWM = 10_000 // both transports: enough for 4 writers' windows, so no catch-up is measured

function transportFor(wire) {
  if (wire === 'zmq') return new ZmqTransport({ highWaterMark: HWM })
  if (wire === 'ws') return new WsServerTransport({ highWaterMark: HWM })
  throw new Error(`unknown Zinc wire ${wire}; use zmq or ws`)
}

/** The server: a root endpoint bound on tcp or ws. */
/** This checkout's @zinc/core, or another build of it (`core`: its dist/ directory). */
const coreOf = async (core) => (core ? await import(pathToFileURL(`${core.replace(/\/$/, '')}/index.js`).href) : thisCore)

export async function startServer({ wire, core, keyed: inBuckets = false }) {
  const { Endpoint, keyed } = await coreOf(core)
  const transport = transportFor(wire)
  const bind = wire === 'zmq' ? { inbound: 'tcp://127.0.0.1:*', outbound: 'tcp://127.0.0.1:*' } : { inbound: 'ws://127.0.0.1:*/in', outbound: 'ws://127.0.0.1:*/out' }
  const ep = await Endpoint.start({ transport, bind, maxMessageBytes: 256 * 1024 * 1024 })
  const docs = []
  return {
    info: { addresses: ep.addresses },
    /** Opens `name` holding `shapes` (a plain object of id → shape). */
    async seed(name, shapes) {
      docs.push(await ep.open(name, { initial: { shapes: inBuckets ? keyed.from(Object.entries(shapes)) : shapes } }))
    },
    async close() {
      await ep.close()
      await transport.close()
    },
  }
}

/** A client process: `count` endpoints joined to the server, on one transport. */
export async function startClients({ wire, info, count, core, keyed: inBuckets = false }) {
  const { Endpoint, keyed } = await coreOf(core)
  const layout = inBuckets ? keyed : undefined
  const transport = transportFor(wire)
  const start = () => Endpoint.start({ transport, join: info.addresses, joinTimeoutMs: 120_000, maxMessageBytes: 256 * 1024 * 1024 })
  const eps = []
  for (let i = 0; i < count; i += 16) eps.push(...(await Promise.all(Array.from({ length: Math.min(16, count - i) }, start))))
  return {
    async open(name) {
      return Promise.all(eps.map(async (ep) => docHandle(await ep.open(name, { timeoutMs: 120_000 }), layout)))
    },
    /** A new endpoint joins and opens `name`; returns the number of shapes it then holds. */
    async lateJoin(name) {
      const ep = await start()
      const doc = await ep.open(name, { timeoutMs: 120_000 })
      const n = layout ? layout.size(doc.state.shapes) : Object.keys(doc.state.shapes).length
      await ep.close()
      return n
    },
    async close() {
      await Promise.allSettled(eps.map((e) => e.close()))
      await transport.close()
    },
  }
}

/** `layout`: core's `keyed` when the shapes are kept in its buckets, else one flat record. */
function docHandle(doc, layout) {
  const inflight = []
  return {
    set(key, shape) {
      const f = doc.change((d) => {
        if (layout) layout.set(d.shapes, key, shape)
        else d.shapes[key] = shape
      })
      if (f) inflight.push(f.confirmed.catch(() => undefined))
    },
    /** Changes written here and not yet acknowledged by the server. */
    pending: () => doc.pendingCount,
    /** Resolves when the oldest unacknowledged change is acknowledged. */
    async ack() {
      while (inflight.length > doc.pendingCount) inflight.shift()
      await inflight.shift()
    },
    /** cb(n, times) for every batch of n changes from other clients; times (µs, the shapes' `t`) only if asked. */
    onRemote(cb, { times = false } = {}) {
      doc.subscribe((state, fragment, batch) => {
        let n = 0
        const ts = times ? [] : undefined
        for (const f of batch) {
          if (f.local) continue
          n++
          if (times) ts.push(fragmentTime(f))
        }
        if (n > 0) cb(n, ts)
      })
    },
    synced: () => doc.synced({ timeoutMs: 30_000 }).catch(() => {}),
  }
}
