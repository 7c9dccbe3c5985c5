// One endpoint of the ZeroMQ intent test (multiprocess-intent.test.ts), in its own process:
// root (no --join), relay or writer. Prints JSON lines on stdout; takes commands on stdin:
//   go <steps> <seed>   make <steps> random changes (intent-steps.mjs), then wait until every
//                       one is answered; prints {type:'done', outcomes}
//   report <seq>        once at <seq> with nothing pending: {type:'report', seq, state, pending}
import { createInterface } from 'node:readline'
import { Endpoint, silentLogger } from '@zinc/core'
import { ZmqTransport } from '@zinc/transport-zmq'
import { mulberry32 } from '@zinc/transport-inproc'
import { randomStep } from './intent-steps.mjs'

const args = process.argv.slice(2)
const arg = (name) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const name = arg('name') ?? 'worker'
const join = arg('join')
const print = (line) => process.stdout.write(`${JSON.stringify({ name, ...line })}\n`)

const transport = new ZmqTransport()
const endpoint = await Endpoint.start({
  transport,
  logger: silentLogger,
  heartbeatMs: 100,
  peerTimeoutMs: 10_000,
  resendMs: 500,
  joinTimeoutMs: 30_000,
  bind: { inbound: 'tcp://127.0.0.1:*', outbound: 'tcp://127.0.0.1:*' },
  ...(join ? { join: JSON.parse(join) } : {}),
})
const doc = await endpoint.open('board', join ? {} : { initial: { items: [], text: '' } })
print({ type: 'ready', addresses: endpoint.addresses })

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

async function go(steps, seed) {
  const random = mulberry32(seed)
  const intents = []
  for (let step = 0; step < steps; step++) {
    const intent = randomStep(doc, `${name}.${step}`, random)
    if (intent) intents.push(intent)
    await sleep(random() * 6)
  }
  const outcomes = await Promise.all(
    intents.map(async ({ fragment, ...intent }) => ({
      ...intent,
      accepted: await fragment.confirmed.then(
        () => true,
        () => false,
      ),
    })),
  )
  print({ type: 'done', outcomes })
}

async function report(seq) {
  while (doc.seq < seq || doc.pendingCount > 0) await sleep(10)
  print({ type: 'report', seq: doc.seq, state: doc.state, pending: doc.pendingCount })
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, a, b] = line.trim().split(/\s+/)
  if (command === 'go') void go(Number(a), Number(b))
  else if (command === 'report') void report(Number(a ?? 0))
})
process.on('SIGTERM', async () => {
  await endpoint.close()
  await transport.close?.()
  process.exit(0)
})
