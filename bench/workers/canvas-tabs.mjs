// Issue 19, the canvas demo with a crowd: `count` Node stand-ins for browser tabs in one
// process, joined over WebSocket to the demo's edge relay, on the board a real page has open.
// Each shares a cursor the way the page does (presence { name, color, cursor, tool, sel }).
// Commands: open, move ({ hz, ms }: every tab moves its cursor `hz` times a second for `ms`),
// mark (CPU, heap).
import { Endpoint, silentLogger } from '@zinc/core'
import { WsServerTransport } from '@zinc/transport-ws'
import { args, cpuMark, serve, sleep } from '../lib/worker.mjs'

const a = args()
const COLORS = ['#ef4444', '#f97316', '#eab308', '#22c55e', '#06b6d4', '#3b82f6', '#8b5cf6', '#ec4899']
let transport
const tabs = []
const docs = []
/** Each tab's cursor (a random walk over 1,600 × 1,000: about half fall in a page's view) and name. */
const at = []
const me = []
await serve(
  async () => {
    // WsServerTransport connects too (it is Node's WebSocket transport); it binds nothing here.
    transport = new WsServerTransport({ highWaterMark: 10_000 })
    tabs.push(...(await Promise.all(Array.from({ length: a.count }, () => Endpoint.start({ transport, join: a.join, joinTimeoutMs: 120_000, logger: silentLogger })))))
    return { pid: process.pid }
  },
  {
    async open() {
      docs.push(...(await Promise.all(tabs.map((t) => t.open(a.doc, { timeoutMs: 120_000 })))))
      // Present from the start, as a tab is once its pointer is over the board.
      docs.forEach((d, i) => {
        at.push([Math.random() * 1600 - 100, Math.random() * 1000 - 100])
        me.push({ name: `load ${a.first + i}`, color: COLORS[(a.first + i) % COLORS.length] })
        d.presence.set({ ...me[i], cursor: at[i].map(Math.round), tool: 'select', sel: [] })
      })
      return { opened: docs.length }
    },
    async move({ hz, ms }) {
      // Every tab moves `hz` times a second, in turn (people do not move in step). On a loaded
      // machine timers fire late: each wake-up makes the moves that were due by then.
      let moves = 0
      let i = 0
      const started = performance.now()
      for (let now = started; now - started < ms; now = performance.now()) {
        const due = Math.floor(((now - started) / 1000) * hz * docs.length)
        for (; moves < due; moves++, i = (i + 1) % docs.length) {
          const p = at[i]
          p[0] = Math.max(-100, Math.min(1500, p[0] + (Math.random() - 0.5) * 40))
          p[1] = Math.max(-100, Math.min(900, p[1] + (Math.random() - 0.5) * 40))
          docs[i].presence.set({ ...me[i], cursor: [Math.round(p[0]), Math.round(p[1])], tool: 'select', sel: [] })
        }
        await sleep(5)
      }
      return { moves }
    },
    mark: () => ({ ...cpuMark(), heapUsed: process.memoryUsage().heapUsed, seen: docs.length ? docs[0].presence.get().size : 0 }),
    async stop() {
      await Promise.all(tabs.map((t) => t.close()))
      await transport.close()
    },
  },
)
