// Issue 19: `count` browser-tab-like leaves in one process, over WebSocket, joining the edge
// relay of crowd-edge.mjs all at once. Commands: join (all of them, at once; the process is
// started and warm before, as a lecture's tabs are loaded before it starts), open, listen
// (record when each leaf sees change n), samples, mark.
import { setPriority } from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Endpoint } from '@zinc/core'
import { WsServerTransport } from '@zinc/transport-ws'
import { args, cpuMark, nowUs, serve } from '../lib/worker.mjs'
import { phaseProfiler } from '../lib/phase-profile.mjs'

const a = args()
// CROWDS_TABS_NICE=<n>: run the tab processes at a lower scheduling priority. On a real crowd
// the tabs are on their users' machines and the edge has its cores to itself; on one small
// machine the 10 tab processes, woken by the edge's own fan-out, take the cores it needs to
// finish it. A lower priority for them approximates the edge on a machine of its own.
if (process.env.CROWDS_TABS_NICE) setPriority(Number(process.env.CROWDS_TABS_NICE))
let transport
const leaves = []
const docs = []
let samples = []
let want = 0
let allSeen = () => {}
let listenMark = cpuMark()
const profiler = phaseProfiler()
// CROWDS_PEER_TIMEOUT_MS: another peer timeout for the edge and the tabs (heartbeats every fifth of it).
const liveness = process.env.CROWDS_PEER_TIMEOUT_MS ? { peerTimeoutMs: Number(process.env.CROWDS_PEER_TIMEOUT_MS) } : {}
await serve(
  async () => {
    transport = new WsServerTransport({ highWaterMark: 10_000 })
    return { pid: process.pid, upUs: nowUs() }
  },
  {
    async join() {
      const t0 = nowUs()
      const cpu0 = cpuMark().cpuUs
      const eachMs = []
      const start = async () => {
        const leaf = await Endpoint.start({ transport, join: a.join, joinTimeoutMs: 120_000, ...liveness })
        eachMs.push((nowUs() - t0) / 1000)
        return leaf
      }
      leaves.push(...(await Promise.all(Array.from({ length: a.count }, start))))
      const hellos = leaves.reduce((sum, l) => sum + (l.stats().sentByKind.HELLO ?? 0), 0)
      return { joinUs: nowUs() - t0, startedUs: t0, doneUs: nowUs(), eachMs, hellos, cpuUs: cpuMark().cpuUs - cpu0 }
    },
    async open() {
      const t0 = nowUs()
      // How long this process's event loop was held at a time while its leaves opened: an OPEN
      // asked again by a timer that ran before the answer waiting in the socket was read.
      const delay = monitorEventLoopDelay({ resolution: 10 })
      delay.enable()
      const eachMs = []
      const opening = leaves.map((l) => l.open('crowd', { timeoutMs: 120_000 }).then((d) => (eachMs.push((nowUs() - t0) / 1000), d)))
      docs.push(...(await Promise.all(opening)))
      delay.disable()
      const opens = leaves.reduce((sum, l) => sum + (l.stats().sentByKind.OPEN ?? 0), 0)
      return { openUs: nowUs() - t0, doneUs: nowUs(), eachMs, opens, loopDelayMaxMs: delay.max / 1e6 }
    },
    listen({ n }) {
      want = n
      samples = []
      listenMark = cpuMark()
      for (const d of docs) {
        const off = d.subscribe((s) => {
          if (s.n !== want) return
          samples.push(nowUs() - s.sentUs)
          off()
          if (samples.length === docs.length) allSeen()
        })
      }
    },
    // Answers once every leaf here saw the change (or after timeoutMs): the bench waits for
    // that instead of asking every 20 ms, which cost the tab processes CPU in the window measured.
    seen: ({ timeoutMs = 30_000 }) =>
      new Promise((resolve) => {
        // With this process's CPU from 'listen' until its last leaf saw the change, and how long that was.
        const done = () => {
          clearTimeout(timer)
          allSeen = () => {}
          const now = cpuMark()
          resolve({ samples, cpuUs: now.cpuUs - listenMark.cpuUs, wallUs: now.t - listenMark.t })
        }
        const timer = setTimeout(done, timeoutMs)
        allSeen = done
        if (samples.length === docs.length) done()
      }),
    samples: () => samples,
    profile: ({ file }) => (file ? profiler.stop(file) : profiler.start()),
    mark: () => ({ ...cpuMark(), heapUsed: process.memoryUsage().heapUsed }),
    async stop() {
      await Promise.all(leaves.map((l) => l.close()))
      await transport.close()
    },
  },
)
