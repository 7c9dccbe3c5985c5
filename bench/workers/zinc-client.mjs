// One or more Zinc endpoints in one process: producers, subscribers, relays, late joiners.
import { Endpoint } from '@zinc/core'
import { ZmqTransport } from '@zinc/transport-zmq'
import { args, cpuMark, nowUs, serve, sleep } from '../lib/worker.mjs'
import { fragmentTime, makeRecipe } from '../lib/payload.mjs'
import { benchLogger, traced } from '../lib/trace.mjs'

const a = args()
const logger = benchLogger('zinc-client') // ZINC_BENCH_LOG=<dir> (lib/trace.mjs); undefined: silent
let transport
const endpoints = []
const docs = []
let count = 0
let events = 0
let samples = []
let cap = 1_000_000
let flood
let failover

function digest(str) {
  let h = 2166136261
  for (let i = 0; i < str.length; i++) h = Math.imul(h ^ str.charCodeAt(i), 16777619)
  return (h >>> 0).toString(16)
}

function endpointOptions(extra = {}) {
  return {
    transport,
    ...(logger ? { logger } : {}),
    ...(a.heartbeatMs ? { heartbeatMs: a.heartbeatMs, peerTimeoutMs: a.peerTimeoutMs ?? a.heartbeatMs * 6 } : {}),
    ...(a.maxMessageBytes ? { maxMessageBytes: a.maxMessageBytes } : {}),
    joinTimeoutMs: 120_000, // many endpoints joining at once on a loaded 2-core machine
    ...extra,
  }
}

await serve(
  async () => {
    transport = await traced(new ZmqTransport(a.hwm ? { highWaterMark: a.hwm } : {}), logger)
    // `etcd: { endpoint, prefix, leaseTtlMs }`: the root is elected on etcd (scenarios/failover-etcd.mjs).
    const coordinator = a.etcd ? (await import('@zinc/coordinator-etcd')).etcd({ endpoints: [a.etcd.endpoint], prefix: a.etcd.prefix, leaseTtlMs: a.etcd.leaseTtlMs }) : undefined
    const n = a.count ?? 1
    for (let i = 0; i < n; i += 16) {
      const batch = []
      for (let j = i; j < Math.min(n, i + 16); j++)
        batch.push(
          Endpoint.start(endpointOptions({ ...(coordinator ? { coordinator } : { join: a.join }), ...(a.bind ? { bind: { inbound: 'tcp://127.0.0.1:*', outbound: 'tcp://127.0.0.1:*' } } : {}) })),
        )
      endpoints.push(...(await Promise.all(batch)))
    }
    return { pid: process.pid, addresses: a.bind && endpoints[0] ? endpoints[0].addresses : undefined, ids: endpoints.map((e) => e.id) }
  },
  {
    async open({ doc }) {
      const t0 = performance.now()
      docs.length = 0
      for (let i = 0; i < endpoints.length; i += 32) docs.push(...(await Promise.all(endpoints.slice(i, i + 32).map((e) => e.open(doc, { timeoutMs: 120_000 })))))
      return { openMs: performance.now() - t0 }
    },
    listen({ mode, cap: c }) {
      if (c) cap = c
      for (const doc of docs)
        doc.subscribe((state, fragment, batch) => {
          if (batch.length === 0) return
          count += batch.length
          events++
          if (mode === 'latency') {
            const now = nowUs()
            for (const f of batch) {
              const t = fragmentTime(f)
              if (t !== undefined && samples.length < cap) samples.push(now - t)
            }
          }
        })
      return true
    },
    mark: () => ({ ...cpuMark(), count, events, mem: process.memoryUsage() }),
    reset() {
      samples = []
      count = events = 0
      return true
    },
    samples: () => samples,
    flood({ recipe, window = 100, burst = 32, time = false }) {
      const doc = docs[0]
      const next = makeRecipe(recipe)
      const inflight = []
      const changeUs = []
      const state = { running: true, produced: 0, changeUs, done: undefined }
      state.done = (async () => {
        while (state.running) {
          let made = 0
          while (state.running && inflight.length < window && made < burst) {
            const recipeFn = next()
            const t0 = time ? performance.now() : 0
            const f = doc.change(recipeFn)
            if (time && changeUs.length < 200_000) changeUs.push((performance.now() - t0) * 1000)
            if (f) inflight.push(f.confirmed.catch(() => 0))
            made++
            state.produced++
          }
          if (inflight.length >= window) await inflight.shift()
          else await new Promise((r) => setImmediate(r))
          while (inflight.length > 0 && doc.pendingCount < inflight.length) inflight.shift()
        }
      })()
      flood = state
      return true
    },
    async halt() {
      if (!flood) return null
      flood.running = false
      // Do not wait for confirmations that may be seconds away on an overloaded root.
      await Promise.race([flood.done, sleep(2000)])
      const { produced, changeUs } = flood
      flood = undefined
      return { produced, changeUs }
    },
    async rate({ recipe, rate, durationMs }) {
      const doc = docs[0]
      const next = makeRecipe(recipe)
      const start = performance.now()
      let sent = 0
      while (performance.now() - start < durationMs) {
        const due = Math.floor(((performance.now() - start) * rate) / 1000)
        while (sent < due) {
          doc.change(next())
          sent++
        }
        await sleep(1)
      }
      await doc.synced({ timeoutMs: 10_000 }).catch(() => {})
      return { sent }
    },
    async latejoin({ join, doc }) {
      const t0 = performance.now()
      const ep = await Endpoint.start(endpointOptions({ join }))
      const joined = performance.now()
      const d = await ep.open(doc, { timeoutMs: 120_000 })
      const opened = performance.now()
      const keys = Object.keys(d.state.shapes ?? {}).length
      await ep.close()
      return { joinMs: joined - t0, openMs: opened - joined, totalMs: opened - t0, keys }
    },
    // Failover probe: listen for role changes on every endpoint.
    watchRoles() {
      failover = { roles: [] }
      for (const e of endpoints) e.on('role', (role) => failover.roles.push({ id: e.id, role, t: nowUs() }))
      return true
    },
    roles: () => failover?.roles ?? [],
    // Failover, all survivors synced: every endpoint samples its own (role, epoch, seq, pending,
    // lost, state digest) every millisecond and remembers when it last changed; the scenario
    // takes the latest such time once all survivors agree.
    watchSync() {
      const lost = new Map()
      for (const e of endpoints) {
        e.on('parent-lost', () => lost.set(e.id, true))
        e.on('parent-back', () => lost.set(e.id, false))
      }
      const key = (e, d) => `${e.role}|${e.epoch}|${d?.seq}|${d?.pendingCount}|${lost.get(e.id) ? 1 : 0}`
      const last = endpoints.map((e, i) => ({ k: key(e, docs[i]), t: nowUs() }))
      const timer = setInterval(() => {
        endpoints.forEach((e, i) => {
          const k = key(e, docs[i])
          if (k !== last[i].k) last[i] = { k, t: nowUs() }
        })
      }, 1)
      failover = { ...(failover ?? { roles: [] }), timer, lost, last }
      return true
    },
    syncState() {
      return endpoints.map((e, i) => {
        const d = docs[i]
        return {
          id: e.id,
          role: e.role,
          epoch: e.epoch,
          seq: d?.seq,
          pending: d?.pendingCount,
          lost: failover?.lost?.get(e.id) === true,
          digest: d ? digest(JSON.stringify(d.state)) : null,
          changedAt: failover?.last?.[i]?.t,
        }
      })
    },
    // A steady trickle of small changes (each endpoint edits its own slot) until `halt`.
    trickle({ rate = 50 }) {
      const state = { running: true, produced: 0, changeUs: [] }
      state.done = new Promise((resolve) => {
        const timer = setInterval(
          () => {
            if (!state.running) {
              clearInterval(timer)
              return resolve()
            }
            docs.forEach((d, i) => {
              if (d.closed) return
              try {
                d.change((draft) => {
                  draft[`c${process.pid}_${i}`] = state.produced
                })
                state.produced++
              } catch {}
            })
          },
          Math.max(1, Math.round(1000 / rate)),
        )
      })
      flood = state
      return true
    },
    stats: () => endpoints[0]?.stats(),
    async stop() {
      if (flood) flood.running = false
      if (failover?.timer) clearInterval(failover.timer)
      await Promise.allSettled(endpoints.map((e) => e.close()))
      await transport?.close()
    },
  },
)
