// Issue 17: a reader's CPU per received change in the document layer alone (no network).
//
// A root replica sequences changes from 4 writers (each a ~100-byte shape set into `shapes`,
// 100 keys per writer, as in the peers scenario) and what it publishes is packed as a root
// packs it (a FRAGMENTS batch of `--batch` changes). A leaf replica then receives every batch
// (receiveSequenced, then the deferred flush: decode, apply, log, history, change event to one
// subscriber) and the time of that alone is the figure. With --profile, the leaf part is
// profiled in-process and the top functions printed.
//
//   node bench/scenarios/reader-path.mjs [--n 20000] [--batch 3] [--reps 5] [--profile]
// ZINC_CORE=<another build's packages/core/dist/> measures that build instead (before/after).
import { Session } from 'node:inspector/promises'

const argv = process.argv.slice(2)
const opt = (f, d) => (argv.includes(f) ? Number(argv[argv.indexOf(f) + 1]) : d)
const N = opt('--n', 20_000)
const BATCH = opt('--batch', 3)
const REPS = opt('--reps', 5)
const core = process.env.ZINC_CORE ? new URL(`file://${process.env.ZINC_CORE.replace(/\/?$/, '/')}`) : new URL('../../packages/core/dist/', import.meta.url)
const load = (p) => import(new URL(p, core).href)
const [{ Replica }, { produce }, { diffToOp, recordIdentity }, codec, { Kind }, { emptyStats }, { silentLogger }, { newEndpointId }, { encodeOp }, { BatchCodec }] = await Promise.all([
  load('document/replica.js'),
  load('document/immer.js'),
  load('document/diff.js'),
  load('protocol/codec.js'),
  load('protocol/kinds.js'),
  load('runtime/stats.js'),
  load('logger.js'),
  load('ids.js'),
  load('protocol/ops.js'),
  load('protocol/payloads.js'),
])

function io(root, published) {
  const deferred = []
  return {
    deferred,
    io: {
      self: newEndpointId(),
      logger: silentLogger,
      stats: emptyStats(),
      storage: undefined,
      epoch: () => 1,
      isRoot: () => root,
      sendUp() {},
      publishFragments: (doc, envelopes) => published?.push(...envelopes),
      publishOnDoc() {},
      sendTo() {},
      defer: (fn) => deferred.push(fn),
      maybeSnapshot() {},
    },
  }
}
const drain = (d) => {
  while (d.length) d.shift()()
}

/** The root's output: N sequenced changes, packed in FRAGMENTS messages of BATCH. */
function sequence() {
  const published = []
  const r = io(true, published)
  const root = new Replica('bench', r.io, 10_000, 1 << 30)
  root.seed({ shapes: {} })
  root.becomeSequencer()
  const writers = Array.from({ length: 4 }, (_, w) => ({ id: newEndpointId(), clientSeq: 0, w }))
  for (let i = 0; i < N; i++) {
    const w = writers[i % 4]
    const n = Math.floor(i / 4)
    const id = `w${w.w}-${n % 100}`
    const shape = { id, x: n % 1000, y: (n * 7) % 1000, w: 40, h: 30, fill: '#3366cc', n, t: i }
    const state = root.confirmed
    const identity = new Map()
    const after = produce(state, (d) => {
      d.shapes[id] = shape
      recordIdentity(d, identity)
    })
    const payload = encodeOp(diffToOp(state, after, identity))
    const bytes = codec.encodeMessage({ kind: Kind.FRAGMENT, origin: w.id, doc: 'bench', clientSeq: ++w.clientSeq, baseSeq: root.seq, epoch: 1, payload })
    root.sequencer.accept(codec.decodeMessage(bytes, Infinity))
    drain(r.deferred)
  }
  const messages = []
  for (let i = 0; i < published.length; i += BATCH) {
    const envelopes = published.slice(i, i + BATCH)
    messages.push(envelopes.length === 1 ? envelopes[0] : codec.encodeMessage({ kind: Kind.FRAGMENTS, origin: r.io.self, doc: 'bench', epoch: 1, payload: BatchCodec.encode({ envelopes }) }))
  }
  return messages
}

/** µs per change for a fresh leaf to take in every message, as the node hands them over. */
async function read(messages) {
  const l = io(false)
  const leaf = new Replica('bench', l.io, 10_000, 1 << 30)
  leaf.seed({ shapes: {} })
  let received = 0
  leaf.events.on('change', (state, last, batch) => (received += batch.length))
  const t0 = process.cpuUsage()
  for (const bytes of messages) {
    leaf.receiveSequenced(codec.decodeMessage(bytes, Infinity))
    drain(l.deferred)
    // Events are dispatched on a microtask, as in a process between two reads.
    await null
  }
  const c = process.cpuUsage(t0)
  if (received !== N) throw new Error(`the leaf received ${received} changes of ${N}`)
  return (c.user + c.system) / N
}

const messages = sequence()
await read(messages) // warm-up
let session
if (argv.includes('--profile')) {
  session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
}
const us = []
for (let i = 0; i < REPS; i++) us.push(await read(messages))
us.sort((a, b) => a - b)
console.log(`leaf: ${N} changes in FRAGMENTS of ${BATCH}: ${us[us.length >> 1].toFixed(2)} µs CPU per change (median of ${REPS}; min ${us[0].toFixed(2)})`)
if (session) {
  const { profile } = await session.post('Profiler.stop')
  const self = new Map()
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
  let total = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const n = nodes.get(profile.samples[i])
    const k = `${n.callFrame.functionName || '(anonymous)'}  ${n.callFrame.url.replace(/.*\/(packages|node_modules)\//, '$1/')}:${n.callFrame.lineNumber + 1}`
    self.set(k, (self.get(k) ?? 0) + profile.timeDeltas[i])
    total += profile.timeDeltas[i]
  }
  for (const [k, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}`)
}
