// The raw baseline of a Zinc root (PULL → PUB, no processing) or, given `parent`, of a relay
// (PULL → PUSH up, SUB from above → PUB down).
import { Publisher, Pull, Push, Subscriber } from 'zeromq'
import { args, cpuMark, serve } from '../lib/worker.mjs'

const a = args()
const hwm = a.hwm ?? 1000
const TOPIC = Buffer.from('d/bench\0')
let pull, pub, push, sub
let forwarded = 0
let running = true

await serve(
  async () => {
    pull = new Pull({ linger: 0, receiveHighWaterMark: hwm })
    pub = new Publisher({ linger: 0, sendHighWaterMark: hwm })
    await pull.bind('tcp://127.0.0.1:*')
    await pub.bind('tcp://127.0.0.1:*')
    if (a.parent) {
      push = new Push({ linger: 0, sendHighWaterMark: hwm })
      sub = new Subscriber({ linger: 0, receiveHighWaterMark: hwm })
      push.connect(a.parent.inbound)
      sub.connect(a.parent.outbound)
      sub.subscribe()
      ;(async () => {
        for await (const [topic, body] of sub) {
          if (!running) break
          await pub.send([topic, body])
        }
      })().catch(() => {})
    }
    ;(async () => {
      for await (const [body] of pull) {
        if (!running) break
        forwarded++
        if (push) await push.send(body)
        else await pub.send([TOPIC, body])
      }
    })().catch(() => {})
    return { addresses: { inbound: pull.lastEndpoint, outbound: pub.lastEndpoint }, pid: process.pid }
  },
  {
    mark: () => ({ ...cpuMark(), sequenced: forwarded, mem: process.memoryUsage() }),
    stop() {
      running = false
      for (const s of [pull, pub, push, sub]) s?.close()
    },
  },
)
