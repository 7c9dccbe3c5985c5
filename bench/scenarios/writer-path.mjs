// Issue 17: a writer's CPU per change written in the document layer alone (no network).
//
// The peers scenario's writer, in one process: a Document on a leaf replica makes its changes
// (`doc.change(d => { d.shapes[id] = shape })`, 100 keys of its own, at most `--window`
// unacknowledged), three other writers make as many, and a root replica in the same process
// sequences them all. What the root publishes comes back to the writer in FRAGMENTS of what
// accumulated since the last delivery, as a root's batches do. Only the writer's part is timed
// (its doc.change calls, and taking in what the root sends: decode, apply, rebase, own
// acknowledgements, change events to one subscriber): µs of CPU per change it wrote. The
// root's part (accept, place, apply, publish) is timed apart: µs per fragment it sequenced.
//
//   node bench/scenarios/writer-path.mjs [--n 8000] [--window 200] [--burst 32] [--reps 5] [--keyed] [--profile]
// ZINC_CORE=<another build's packages/core/dist/> measures that build instead (before/after).
import { drain, fakeIO, loadCore, opt, profileIf } from '../lib/doc-path.mjs'

const argv = process.argv.slice(2)
const N = opt(argv, '--n', 8000)
const WINDOW = opt(argv, '--window', 200)
const BURST = opt(argv, '--burst', 32)
const REPS = opt(argv, '--reps', 5)
// --keyed: the shapes in core's `keyed` buckets (keyed.set), not one flat record.
const KEYED = argv.includes('--keyed')
const [{ Replica }, { Document }, { insertOp, replaceOp }, codec, { Kind }, { newEndpointId }, { encodeOp }, { BatchCodec }] = await loadCore(
  'document/replica.js',
  'document/document.js',
  'document/ot.js',
  'protocol/codec.js',
  'protocol/kinds.js',
  'ids.js',
  'protocol/ops.js',
  'protocol/payloads.js',
)
const [{ keyed }, { bucketPath }] = await loadCore('index.js', 'document/keyed.js')
const emptyShapes = () => (KEYED ? keyed.empty() : {})
/** Where shape `id` lives: `shapes.<id>`, or under its buckets. */
const pathOf = (id) => (KEYED ? ['shapes', ...bucketPath(id), id] : ['shapes', id])

const shape = (id, n) => ({ id, x: n % 1000, y: (n * 7) % 1000, w: 40, h: 30, fill: '#3366cc', n, t: n })

async function run() {
  const published = []
  const r = await fakeIO(true, { published })
  const root = new Replica('bench', r.io, 10_000, 1 << 30)
  root.seed({ shapes: emptyShapes() })
  root.becomeSequencer()
  const sent = []
  const w = await fakeIO(false, { sent })
  const replica = new Replica('bench', w.io, 10_000, 1 << 30)
  replica.seed({ shapes: emptyShapes() })
  const doc = new Document(replica, { setPresence() {}, closeDocument: async () => {} }, { undoLimit: 100 })
  let received = 0
  doc.subscribe((state, last, batch) => {
    for (const f of batch) if (!f.local) received++
  })
  const others = Array.from({ length: 3 }, (_, i) => ({ id: newEndpointId(), clientSeq: 0, w: i + 1 }))
  let delivered = 0
  let cpu = 0
  let rootCpu = 0
  const timed = (fn) => {
    const t = process.cpuUsage()
    fn()
    const c = process.cpuUsage(t)
    cpu += c.user + c.system
  }
  /** The root's output since the last delivery, as one FRAGMENTS message to the writer. */
  const deliver = async () => {
    const envelopes = published.slice(delivered)
    delivered = published.length
    if (envelopes.length === 0) return
    const bytes = envelopes.length === 1 ? envelopes[0] : codec.encodeMessage({ kind: Kind.FRAGMENTS, origin: r.io.self, doc: 'bench', epoch: 1, payload: BatchCodec.encode({ envelopes }) })
    timed(() => {
      replica.receiveSequenced(codec.decodeMessage(bytes, Infinity))
      drain(w.deferred)
    })
    await null // events run on a microtask, as between two reads
  }
  /** What the writer sent, and a change of each other writer, go to the root. */
  const toRoot = () => {
    const incoming = []
    for (const bytes of sent.splice(0)) {
      incoming.push(bytes)
      for (const o of others) {
        const n = o.clientSeq
        const id = `w${o.w}-${n % 100}`
        // The op doc.change makes for it (a replace once the key exists), without the recipe.
        const payload = encodeOp(n >= 100 ? replaceOp(pathOf(id), true, shape(id, n)) : insertOp(pathOf(id), shape(id, n)))
        incoming.push(codec.encodeMessage({ kind: Kind.FRAGMENT, origin: o.id, doc: 'bench', clientSeq: ++o.clientSeq, baseSeq: root.seq, epoch: 1, payload }))
      }
    }
    // The root's part (accepting, placing, applying, publishing the batch), timed on its own.
    const t = process.cpuUsage()
    for (const bytes of incoming) root.sequencer.accept(codec.decodeMessage(bytes, Infinity))
    drain(r.deferred)
    const c = process.cpuUsage(t)
    rootCpu += c.user + c.system
  }
  let made = 0
  while (made < N) {
    // A burst while the window allows, as the peers writer does.
    let burst = 0
    while (made < N && burst < BURST && replica.pending.length < WINDOW) {
      const id = `w0-${made % 100}`
      const value = shape(id, made)
      timed(() => doc.change((d) => void (KEYED ? keyed.set(d.shapes, id, value) : (d.shapes[id] = value))))
      made++
      burst++
    }
    toRoot()
    // The root's answers arrive while the window is full.
    await deliver()
  }
  await deliver()
  if (replica.pending.length !== 0) throw new Error(`${replica.pending.length} changes unacknowledged`)
  if (received !== 3 * N) throw new Error(`the writer received ${received} changes of ${3 * N}`)
  return { writer: cpu / N, root: rootCpu / (4 * N) }
}

await run() // warm-up
const profiler = await profileIf(argv)
const us = []
const roots = []
for (let i = 0; i < REPS; i++) {
  const { writer, root } = await run()
  us.push(writer)
  roots.push(root)
}
roots.sort((a, b) => a - b)
us.sort((a, b) => a - b)
console.log(
  `writer: ${N} changes${KEYED ? ' (keyed shapes)' : ''} (window ${WINDOW}, 3 other writers): ${us[us.length >> 1].toFixed(1)} µs CPU per change written (median of ${REPS}; min ${us[0].toFixed(1)}); root: ${roots[roots.length >> 1].toFixed(1)} µs per fragment sequenced`,
)
// WRITER_PATH_PROFILE=<file>: the profile itself too, for other tools.
await profiler.stop(process.env.WRITER_PATH_PROFILE)
