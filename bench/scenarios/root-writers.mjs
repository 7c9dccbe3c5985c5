// Issue 17: a root's CPU per fragment when every writer has many changes in flight (the peers
// scenario's 4 writers with windows of 200), in the document layer alone (no network).
//
// Four writer replicas (Documents) each set shapes of their own (`doc.change`, 100 keys each, in
// bursts of 32 while fewer than `--window` are unacknowledged), one root replica sequences what
// they send, and each writer is handed what the root published since its last delivery at
// random times (so its base lags, as over a network): each fragment is placed over up to
// hundreds of others' changes since its base. Only the root's part is timed (accept, place,
// apply, log, publish): µs of CPU per fragment sequenced, median of `--reps` runs.
//
//   node bench/scenarios/root-writers.mjs [--n 4000] [--window 200] [--reps 3] [--keyed] [--profile]
// ZINC_CORE=<another build's packages/core/dist/> measures that build instead (before/after).
import { drain, fakeIO, loadCore, opt, profileIf } from '../lib/doc-path.mjs'
import { mulberry32 } from '@zinc/transport-inproc'

const argv = process.argv.slice(2)
const KEYED = argv.includes('--keyed')
const N = opt(argv, '--n', 4000)
const WINDOW = opt(argv, '--window', 200)
const REPS = opt(argv, '--reps', 3)
const [{ Replica }, { Document }, codec, { Kind }, { BatchCodec }, { keyed }] = await loadCore(
  'document/replica.js',
  'document/document.js',
  'protocol/codec.js',
  'protocol/kinds.js',
  'protocol/payloads.js',
  'index.js',
)
const shape = (id, n) => ({ id, x: n % 1000, y: (n * 7) % 1000, w: 40, h: 30, fill: '#3366cc', n, t: n })
const emptyShapes = () => (KEYED ? keyed.empty() : {})

async function writer(i) {
  const sent = []
  const w = await fakeIO(false, { sent })
  const replica = new Replica('bench', w.io, 10_000, 1 << 30)
  replica.seed({ shapes: emptyShapes() })
  const doc = new Document(replica, { setPresence() {}, closeDocument: async () => {} }, { undoLimit: 100 })
  return { i, sent, w, replica, doc, made: 0, delivered: 0 }
}

async function run(seed) {
  const random = mulberry32(seed)
  const published = []
  const r = await fakeIO(true, { published })
  const root = new Replica('bench', r.io, 10_000, 1 << 30)
  root.seed({ shapes: emptyShapes() })
  root.becomeSequencer()
  const writers = await Promise.all([0, 1, 2, 3].map(writer))
  let cpu = 0
  while (writers.some((x) => x.made < N)) {
    for (const x of writers) {
      for (let burst = 0; x.made < N && burst < 32 && x.replica.pending.length < WINDOW; burst++, x.made++) {
        const id = `w${x.i}-${x.made % 100}`
        const value = shape(id, x.made)
        x.doc.change((d) => void (KEYED ? keyed.set(d.shapes, id, value) : (d.shapes[id] = value)))
      }
      drain(x.w.deferred)
      const t = process.cpuUsage()
      for (const bytes of x.sent.splice(0)) root.sequencer.accept(codec.decodeMessage(bytes, Infinity))
      drain(r.deferred)
      const c = process.cpuUsage(t)
      cpu += c.user + c.system
    }
    // Each writer hears the root at random times: its base lags behind, as over a network.
    for (const x of writers) {
      if (random() < 0.5) continue
      const envelopes = published.slice(x.delivered)
      x.delivered = published.length
      if (envelopes.length === 0) continue
      const bytes = envelopes.length === 1 ? envelopes[0] : codec.encodeMessage({ kind: Kind.FRAGMENTS, origin: r.io.self, doc: 'bench', epoch: 1, payload: BatchCodec.encode({ envelopes }) })
      x.replica.receiveSequenced(codec.decodeMessage(bytes, Infinity))
      drain(x.w.deferred)
    }
    await null // events run on a microtask, as between two reads
  }
  if (published.length !== 4 * N) throw new Error(`the root sequenced ${published.length} of ${4 * N} changes`)
  return cpu / published.length
}

await run(1) // warm-up
const profiler = await profileIf(argv)
const us = []
for (let i = 0; i < REPS; i++) us.push(await run(2 + i))
us.sort((a, b) => a - b)
console.log(`root: ${us[us.length >> 1].toFixed(1)} µs CPU per fragment sequenced (4 writers, window ${WINDOW}${KEYED ? ', keyed shapes' : ''}; median of ${REPS}, min ${us[0].toFixed(1)})`)
await profiler.stop(process.env.ROOT_WRITERS_PROFILE)
