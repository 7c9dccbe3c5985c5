// Issue 17: a reader's CPU per received change in the document layer alone (no network).
//
// A root replica sequences changes from 4 writers (each a ~100-byte shape set into `shapes`,
// 100 keys per writer, as in the peers scenario) and what it publishes is packed as a root
// packs it (a FRAGMENTS batch of `--batch` changes). A leaf replica then receives every batch
// (receiveSequenced, then the deferred flush: decode, apply, log, history, change event to one
// subscriber) and the time of that alone is the figure, with the part spent receiving (decoding
// each envelope and its op: receiveSequenced) shown apart from applying. With --profile, the leaf part is
// profiled in-process and the top functions printed.
//
//   node bench/scenarios/reader-path.mjs [--n 20000] [--batch 3] [--reps 5] [--keyed] [--profile]
// ZINC_CORE=<another build's packages/core/dist/> measures that build instead (before/after).
import { drain, fakeIO, loadCore, opt, profileIf } from '../lib/doc-path.mjs'

const argv = process.argv.slice(2)
const N = opt(argv, '--n', 20_000)
const BATCH = opt(argv, '--batch', 3)
const REPS = opt(argv, '--reps', 5)
// --keyed: the shapes in core's `keyed` buckets (keyed.set), not one flat record.
const KEYED = argv.includes('--keyed')
const [{ Replica }, { produce }, { diffToOp, recordIdentity }, codec, { Kind }, { newEndpointId }, { encodeOp }, { BatchCodec }] = await loadCore(
  'document/replica.js',
  'document/immer.js',
  'document/diff.js',
  'protocol/codec.js',
  'protocol/kinds.js',
  'ids.js',
  'protocol/ops.js',
  'protocol/payloads.js',
)
const [{ keyed }] = await loadCore('index.js')
const emptyShapes = () => (KEYED ? keyed.empty() : {})

/** The root's output: N sequenced changes, packed in FRAGMENTS messages of BATCH. */
async function sequence() {
  const published = []
  const r = await fakeIO(true, { published })
  const root = new Replica('bench', r.io, 10_000, 1 << 30)
  root.seed({ shapes: emptyShapes() })
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
      if (KEYED) keyed.set(d.shapes, id, shape)
      else d.shapes[id] = shape
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
  const l = await fakeIO(false)
  const leaf = new Replica('bench', l.io, 10_000, 1 << 30)
  leaf.seed({ shapes: emptyShapes() })
  let received = 0
  leaf.events.on('change', (state, last, batch) => (received += batch.length))
  const t0 = process.cpuUsage()
  let decoding = 0
  for (const bytes of messages) {
    const d0 = process.cpuUsage()
    leaf.receiveSequenced(codec.decodeMessage(bytes, Infinity))
    const d = process.cpuUsage(d0)
    decoding += d.user + d.system
    drain(l.deferred)
    // Events are dispatched on a microtask, as in a process between two reads.
    await null
  }
  const c = process.cpuUsage(t0)
  if (received !== N) throw new Error(`the leaf received ${received} changes of ${N}`)
  return { total: (c.user + c.system) / N, decoding: decoding / N }
}

const messages = await sequence()
await read(messages) // warm-up
const profiler = await profileIf(argv)
const runs = []
for (let i = 0; i < REPS; i++) runs.push(await read(messages))
const us = runs.map((r) => r.total).sort((a, b) => a - b)
const dec = runs.map((r) => r.decoding).sort((a, b) => a - b)
console.log(
  `leaf: ${N} changes${KEYED ? ' (keyed shapes)' : ''} in FRAGMENTS of ${BATCH}: ${us[us.length >> 1].toFixed(2)} µs CPU per change (median of ${REPS}; min ${us[0].toFixed(2)}), ` +
    `of which receiving (decode) ${dec[dec.length >> 1].toFixed(2)} (min ${dec[0].toFixed(2)})`,
)
// READER_PATH_PROFILE=<file>: the profile itself too, for other tools (as writer-path.mjs).
await profiler.stop(process.env.READER_PATH_PROFILE)
