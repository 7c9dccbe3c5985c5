// Raw zeromq.js clients: producers (PUSH), subscribers (SUB), a ping-pong pair, and a
// snapshot server/fetcher for the late-join baseline.
import { Publisher, Pull, Push, Subscriber } from 'zeromq'
import { args, cpuMark, nowUs, serve, sleep } from '../lib/worker.mjs'
import { rawBody, rawTime } from '../lib/payload.mjs'

const a = args()
const hwm = a.hwm ?? 1000
const sockets = []
let push
const subs = []
let count = 0
let events = 0
let samples = []
let cap = 1_000_000
let flood
let running = true
let pongState

function track(s) {
  sockets.push(s)
  return s
}

await serve(
  async () => {
    if (a.role === 'pong') {
      // Echoes every frame: bound PULL in, bound PUSH out.
      const inp = track(new Pull({ linger: 0 }))
      const out = track(new Push({ linger: 0 }))
      await inp.bind('tcp://127.0.0.1:*')
      await out.bind('tcp://127.0.0.1:*')
      ;(async () => {
        for await (const [body] of inp) await out.send(body)
      })().catch(() => {})
      return { addresses: { inbound: inp.lastEndpoint, outbound: out.lastEndpoint } }
    }
    if (a.role === 'snapshot') {
      const inp = track(new Pull({ linger: 0 }))
      const out = track(new Publisher({ linger: 0, sendHighWaterMark: 0 }))
      await inp.bind('tcp://127.0.0.1:*')
      await out.bind('tcp://127.0.0.1:*')
      const state = Buffer.alloc(Math.round(a.mb * 1024 * 1024), 97)
      const beat = setInterval(() => out.send(['c', '']).catch(() => {}), 5)
      pongState = { beat }
      ;(async () => {
        for await (const [id] of inp) await out.send([`e/${id}`, state])
      })().catch(() => {})
      return { addresses: { inbound: inp.lastEndpoint, outbound: out.lastEndpoint } }
    }
    if (a.connect) {
      if (a.push !== false) {
        push = track(new Push({ linger: 0, sendHighWaterMark: hwm }))
        push.connect(a.connect.inbound)
      }
      for (let i = 0; i < (a.subs ?? 0); i++) {
        const s = track(new Subscriber({ linger: 0, receiveHighWaterMark: hwm }))
        s.connect(a.connect.outbound)
        s.subscribe('d/bench\0')
        subs.push(s)
      }
    }
    return { pid: process.pid }
  },
  {
    async listen({ mode, cap: c }) {
      if (c) cap = c
      for (const s of subs)
        (async () => {
          for await (const [, body] of s) {
            count++
            events++
            if (mode === 'latency' && samples.length < cap) samples.push(nowUs() - rawTime(body))
          }
        })().catch(() => {})
      return true
    },
    mark: () => ({ ...cpuMark(), count, events, mem: process.memoryUsage() }),
    reset() {
      samples = []
      count = events = 0
      return true
    },
    samples: () => samples,
    flood({ size }) {
      const state = { running: true, produced: 0 }
      state.done = (async () => {
        while (state.running && running) {
          await push.send(rawBody(size))
          state.produced++
          if ((state.produced & 63) === 0) await new Promise((r) => setImmediate(r))
        }
      })()
      flood = state
      return true
    },
    async halt() {
      if (!flood) return null
      flood.running = false
      await Promise.race([flood.done, sleep(1000)])
      const { produced } = flood
      flood = undefined
      return { produced }
    },
    async rate({ size, rate, durationMs }) {
      const start = performance.now()
      let sent = 0
      while (performance.now() - start < durationMs) {
        const due = Math.floor(((performance.now() - start) * rate) / 1000)
        while (sent < due) {
          await push.send(rawBody(size))
          sent++
        }
        await sleep(1)
      }
      return { sent }
    },
    /** Sequential round trips through a pong worker. */
    async ping({ target, n, size }) {
      const out = track(new Push({ linger: 0 }))
      const inp = track(new Pull({ linger: 0 }))
      out.connect(target.inbound)
      inp.connect(target.outbound)
      const rtts = []
      for (let i = 0; i < n + 50; i++) {
        const t0 = nowUs()
        await out.send(rawBody(size))
        await inp.receive()
        if (i >= 50) rtts.push(nowUs() - t0) // the first 50 warm up the connection
      }
      return rtts
    },
    /** Late-join baseline: subscribe, wait until the subscription works, ask, receive. */
    async fetch({ target }) {
      const id = Math.random().toString(36).slice(2)
      const t0 = performance.now()
      const s = new Subscriber({ linger: 0, receiveHighWaterMark: 0, maxMessageSize: -1 })
      const p = new Push({ linger: 0 })
      s.connect(target.outbound)
      p.connect(target.inbound)
      s.subscribe('c')
      s.subscribe(`e/${id}`)
      for (;;) {
        const [topic] = await s.receive()
        if (topic.toString() === 'c') break
      }
      const t1 = performance.now()
      await p.send(id)
      let bytes = 0
      for (;;) {
        const [topic, body] = await s.receive()
        if (topic.toString() === `e/${id}`) {
          bytes = body.length
          break
        }
      }
      const t2 = performance.now()
      s.close()
      p.close()
      return { totalMs: t2 - t0, transferMs: t2 - t1, bytes }
    },
    stop() {
      running = false
      if (pongState) clearInterval(pongState.beat)
      for (const s of sockets) s.close()
    },
  },
)
