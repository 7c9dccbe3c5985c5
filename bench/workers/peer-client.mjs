// `count` clients of one peer system (bench/peers/) in one process: writers, readers, late joiners.
// The same loops drive every system; only the peer module differs.
import { readdirSync, readFileSync } from 'node:fs'
import { args, cpuMark, nowUs, serve, sleep } from '../lib/worker.mjs'
import { load, shapeChange } from '../peers/system.mjs'

const a = args()
let clients
let docs = []
let count = 0
let events = 0
let produced = 0
let samples = []
let flood

/** CPU ticks (1/100 s) of each thread of this process by name (Linux /proc): where CPU went. */
function threadTicks() {
  const out = {}
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      out[name] = (out[name] ?? 0) + Number(f[11]) + Number(f[12])
    }
  } catch {}
  return out
}

await serve(
  async () => {
    const { mod, options } = await load(a.system)
    clients = await mod.startClients({ ...options, info: a.info, count: a.count ?? 1 })
    return { pid: process.pid }
  },
  {
    async open({ doc }) {
      docs = await clients.open(doc)
      return true
    },
    listen({ mode }) {
      const times = mode === 'latency'
      for (const d of docs)
        d.onRemote(
          (n, ts) => {
            count += n
            events++
            if (!times) return
            const now = nowUs()
            for (const t of ts) if (typeof t === 'number' && samples.length < 1_000_000) samples.push(now - t)
          },
          { times },
        )
      return true
    },
    mark: () => ({ ...cpuMark(), count, events, produced, threads: threadTicks() }),
    reset() {
      samples = []
      count = events = 0
      return true
    },
    samples: () => samples,
    // Writes as fast as the acknowledgement window allows: at most `window` unacknowledged.
    flood({ wid, window, burst = 32 }) {
      const doc = docs[0]
      const state = { running: true }
      state.done = (async () => {
        while (state.running) {
          let made = 0
          while (state.running && doc.pending() < window && made < burst) {
            doc.set(...shapeChange(wid, produced++))
            made++
          }
          if (doc.pending() >= window) await doc.ack()
          else await new Promise((r) => setImmediate(r))
        }
      })()
      flood = state
      return true
    },
    async halt() {
      if (!flood) return null
      flood.running = false
      await Promise.race([flood.done, sleep(2000)])
      flood = undefined
      return { produced }
    },
    // A steady `rate` changes/s for `durationMs`, then waits until all are acknowledged.
    async rate({ wid, rate, durationMs }) {
      const doc = docs[0]
      const start = performance.now()
      let sent = 0
      while (performance.now() - start < durationMs) {
        const due = Math.floor(((performance.now() - start) * rate) / 1000)
        while (sent < due) {
          doc.set(...shapeChange(wid, produced++))
          sent++
        }
        await sleep(1)
      }
      await doc.synced()
      return { sent }
    },
    async lateJoin({ doc }) {
      const t0 = performance.now()
      const n = await clients.lateJoin(doc)
      return { ms: performance.now() - t0, n }
    },
    async stop() {
      if (flood) flood.running = false
      await clients?.close()
    },
  },
)
