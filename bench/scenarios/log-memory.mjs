// Issue 17's "memory per logged fragment", alone and accounted (not part of `npm run bench`):
// the memory scenario's `fragments` recipe (bench/workers/zinc-memory.mjs: a root and a client
// in this process over tcp, 10,000 changes each replacing `d.v = { i, pad }` with a 100 B pad),
// then what each structure holds, measured by dropping it and settling again:
//   log        every replica's DocLog (entries, envelopes and what the envelopes keep alive)
//   history    the root's op history and its place index
//
//   node --expose-gc bench/scenarios/log-memory.mjs [--n 10000] [--reps 3]
//
// ZINC_DIST=<dir holding packages/> measures another build (before/after comparisons).
import { parseArgs } from 'node:util'

const { values: args } = parseArgs({ options: { n: { type: 'string', default: '10000' }, size: { type: 'string', default: '100' }, reps: { type: 'string', default: '3' } } })
if (!global.gc) throw new Error('run with --expose-gc')
const root = process.env.ZINC_DIST ? new URL(`file://${process.env.ZINC_DIST.replace(/\/?$/, '/')}`) : new URL('../../', import.meta.url)
const { Endpoint } = await import(new URL('packages/core/dist/index.js', root).href)
const { ZmqTransport } = await import(new URL('packages/transport-zmq/dist/index.js', root).href)
const { DocLog } = await import(new URL('packages/core/dist/document/doc-log.js', root).href)
const { OpHistory } = await import(new URL('packages/core/dist/document/op-history.js', root).href)

// Every log and history appended to, to drop them for the accounting.
const logs = new Set()
const histories = new Set()
const spy = (proto, set) => {
  const inner = proto.append
  proto.append = function (...a) {
    set.add(this)
    return inner.apply(this, a)
  }
}
spy(DocLog.prototype, logs)
spy(OpHistory.prototype, histories)

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
async function settle() {
  for (let i = 0; i < 4; i++) {
    global.gc()
    await sleep(50)
  }
  const m = process.memoryUsage()
  return { total: m.heapUsed + m.external, external: m.external }
}

const transport = new ZmqTransport()
const bind = { inbound: 'tcp://127.0.0.1:*', outbound: 'tcp://127.0.0.1:*' }
const host = await Endpoint.start({ transport, bind })
const n = Number(args.n)
const pad = 'x'.repeat(Number(args.size))

async function once(rep) {
  logs.clear()
  histories.clear()
  const ep = await Endpoint.start({ transport, join: host.addresses })
  const doc = await ep.open(`log-${rep}`, { initial: { v: null } })
  for (let i = 0; i < 200; i++) doc.change((d) => void (d.v = { i, pad }))
  await doc.synced()
  const m0 = await settle()
  for (let i = 0; i < n; i++) {
    doc.change((d) => void (d.v = { i, pad }))
    if (i % 200 === 199) await doc.synced()
  }
  await doc.synced()
  await sleep(100)
  const m1 = await settle()
  const held = [...logs].map((l) => ({ length: l.length, bytes: l.bytes }))
  for (const l of logs) l.clear(l.firstSeq === undefined ? 0 : l.firstSeq + l.length - 1, undefined)
  const m2 = await settle()
  for (const h of histories) h.places.sync({ floor: h.lastSeq, top: h.lastSeq, at: () => undefined })
  const m3 = await settle()
  for (const h of histories) h.reset(h.lastSeq)
  const m4 = await settle()
  await ep.close()
  const per = (a, b, k = 'total') => Math.round((b[k] - a[k]) / n)
  return { total: per(m0, m1), log: per(m2, m1), logExternal: per(m2, m1, 'external'), places: per(m3, m2), history: per(m4, m3), rest: per(m0, m4), logs: held }
}

const runs = []
for (let rep = 0; rep < Number(args.reps); rep++) {
  const r = await once(rep)
  runs.push(r)
  console.log(`rep ${rep}: ${r.total} B per fragment (log ${r.log} of which external ${r.logExternal}, places ${r.places}, history ${r.history}, rest ${r.rest}); logs ${JSON.stringify(r.logs)}`)
}
console.log(JSON.stringify({ build: process.env.ZINC_DIST ?? 'this checkout', n, runs: runs.map((r) => ({ ...r, logs: undefined })) }))
await host.close()
await transport.close()
process.exit(0)
