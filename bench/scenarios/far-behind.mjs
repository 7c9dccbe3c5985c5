// Issue 17 (speed9): a root's placement cost for a writer far behind (not part of `npm run bench`).
// A history of 10,000 sequenced changes by 4 writers, then 300 fragments of one of them made on a
// base 3,000 seqs back (its own changes in flight after it): µs per placement, and how many were
// sent back (stale) or transformed. With the op history keeping only its newest ops decoded,
// this is the path that decodes older ones again from the log (history-thaw.ts).
//
//   node bench/scenarios/far-behind.mjs
// ZINC_DIST=<dir holding packages/> measures another build (before/after comparisons).
const root = process.env.ZINC_DIST ? `${process.env.ZINC_DIST.replace(/\/?$/, '/')}` : new URL('../../', import.meta.url).pathname
const imp = (p) => import(`${root}packages/core/dist/${p}`)
const { DocLog } = await imp('document/doc-log.js')
const { OpHistory } = await imp('document/op-history.js')
const { place } = await imp('document/placement.js')
const { replaceOp } = await imp('document/ot.js')
const { encodeMessage } = await imp('protocol/codec.js')
const { Kind } = await imp('protocol/kinds.js')
const { encodeOp } = await imp('protocol/ops.js')
let historyFor
try {
  ;({ historyFor } = await imp('document/history-thaw.js'))
} catch {
  historyFor = (l, b) => new OpHistory(l, b)
}
const O = ['aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'cccccccc-cccc-4ccc-8ccc-cccccccccccc', 'dddddddd-dddd-4ddd-8ddd-dddddddddddd']
const log = new DocLog(10000)
const h = historyFor(10000, 32 << 20, log)
let seq = 0
for (let n = 0; n < 10000; n++) {
  seq++
  const origin = O[n % 4]
  const op = replaceOp(['shapes', `${n % 4}-${n % 100}`], {}, { n })
  const envelope = encodeMessage({ kind: Kind.FRAGMENT, origin, sender: origin, doc: 'd', clientSeq: seq, seq, baseSeq: seq - 1, epoch: 1, payload: encodeOp(op) })
  log.append({ seq, origin, clientSeq: seq, epoch: 1, envelope })
  h.append({ seq, origin, clientSeq: seq, base: seq - 1, op, sent: op }, envelope.byteLength)
}
const replica = { seq, history: h }
// CPU time (steadier than wall time on a shared machine); the first placement apart: it pays
// for what is decoded and indexed once for this writer.
const cpu = () => {
  const u = process.cpuUsage()
  return u.user + u.system
}
let stale = 0
let transformed = 0
const placeOne = (i) => {
  const c = { origin: O[0], clientSeq: 99999, base: seq - 3000 + i, body: { op: replaceOp(['shapes', '0-7'], {}, { n: i }), rejections: 0 }, payload: new Uint8Array() }
  const p = place(c, null, replica, new Map(), 0, [])
  if ('stale' in p) stale++
  if ('op' in p && p.transformed) transformed++
}
const t0 = cpu()
placeOne(0)
const t1 = cpu()
for (let i = 1; i < 300; i++) placeOne(i)
const t2 = cpu()
console.log(
  `${process.env.ZINC_DIST ? 'base' : 'this checkout'}: first placement ${((t1 - t0) / 1000).toFixed(1)} ms CPU, then ${((t2 - t1) / 299).toFixed(0)} µs each; stale ${stale}, transformed ${transformed}`,
)
