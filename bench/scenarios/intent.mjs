// (9) Operations that keep intent (issue 13): what transforming costs.
//
// In one process, on @zinc/core's own Replica and Sequencer (no network, so the figures are
// the document layer's CPU alone):
//   - root CPU per fragment (decode, transform, apply, encode), without concurrency (every
//     fragment made on the root's latest seq) and with it (5 writers, each sending a chain of
//     changes made on a state 5–25 fragments old);
//   - a 10,000-element list: doc.change of a typical list edit, and the root's CPU per fragment
//     with 5 concurrent writers;
//   - a 100 KB text with 5 typists: doc.change per keystroke, root CPU per keystroke.
// Baseline: the same fragments sequenced with no concurrency (the transform-free path).
//
//   node bench/scenarios/intent.mjs [--smoke]     prints the figures as JSON
import { fileURLToPath } from 'node:url'
import { row } from './common.mjs'

// ZINC_CORE=<dir of another build's packages/core/dist/> measures that build instead (for a
// before/after comparison; a build from before operations sequences immer patches).
const core = process.env.ZINC_CORE ? new URL(`file://${process.env.ZINC_CORE.replace(/\/?$/, '/')}`) : new URL('../../packages/core/dist/', import.meta.url)
const load = (p) => import(new URL(p, core).href).catch(() => ({}))

async function modules() {
  const [{ Replica }, immer, { diffToOp, recordIdentity }, { applyOp }, codec, { Kind }, { emptyStats }, { silentLogger }, { newEndpointId }, { encodeOp }, { encodePatches }] = await Promise.all([
    load('document/replica.js'),
    load('document/immer.js'),
    load('document/diff.js'),
    load('document/ot.js'),
    load('protocol/codec.js'),
    load('protocol/kinds.js'),
    load('runtime/stats.js'),
    load('logger.js'),
    load('ids.js'),
    load('protocol/ops.js'),
    load('protocol/patches.js'),
  ])
  const M = { Replica, produce: immer.produce, diffToOp, recordIdentity, applyOp, codec, Kind, emptyStats, silentLogger, newEndpointId, encodeOp }
  if (!diffToOp) {
    // Before operations: positional immer patches.
    M.change = (state, recipe) => {
      const [next, patches] = immer.produceWithPatches(state, recipe)
      return { next, payload: patches.length ? encodePatches(patches) : null }
    }
  } else {
    M.change = (state, recipe) => {
      const op = opOf(M, state, recipe)
      return { next: op === null ? state : applyOp(state, op), payload: op === null ? null : encodeOp(op) }
    }
  }
  return M
}

/** A root replica whose I/O goes nowhere; deferred work runs when `tick()` says so. */
function rootReplica(M, initial) {
  const deferred = []
  const io = {
    self: M.newEndpointId(),
    logger: M.silentLogger,
    stats: M.emptyStats(),
    storage: undefined,
    epoch: () => 1,
    now: () => Date.now(),
    isRoot: () => true,
    sendUp() {},
    publishFragments() {},
    publishOnDoc() {},
    sendTo() {},
    defer: (fn) => deferred.push(fn),
    maybeSnapshot() {},
  }
  const replica = new M.Replica('bench', io, 10_000, 1 << 30)
  replica.seed(initial)
  replica.becomeSequencer()
  return {
    replica,
    io,
    tick() {
      while (deferred.length) deferred.shift()()
    },
  }
}

/** What doc.change computes: the recipe's op, with immer's element identities. */
function opOf(M, state, recipe) {
  const identity = new Map()
  const after = M.produce(state, (d) => {
    recipe(d)
    recordIdentity(M, d, identity)
  })
  return M.diffToOp(state, after, identity)
}
const recordIdentity = (M, d, identity) => M.recordIdentity(d, identity)

function mulberry(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * `writers` writers send `n` fragments to a root. Each writer refreshes its view of the
 * document every `lag` of its own changes (lag 1 = always on the latest seq: no concurrency);
 * between refreshes it chains changes on its own view, as a replica does. Returns µs of root
 * CPU per fragment (accept + flush: decode, transform, apply, encode, log).
 */
function rootRun(M, { initial, writers, n, lag, recipe, seed = 1 }) {
  const root = rootReplica(M, initial)
  const random = mulberry(seed)
  const ws = Array.from({ length: writers }, () => ({ id: M.newEndpointId(), clientSeq: 0, base: 0, view: initial, since: lag }))
  let rootUs = 0
  let count = 0
  for (let i = 0; i < n; i++) {
    const w = ws[i % writers]
    if (w.since >= lag) {
      w.view = root.replica.confirmed
      w.base = root.replica.seq
      w.since = 0
    }
    const { next, payload } = M.change(w.view, recipe(random, w.view))
    if (payload === null) continue
    w.view = next
    w.since++
    const bytes = M.codec.encodeMessage({ kind: M.Kind.FRAGMENT, origin: w.id, doc: 'bench', clientSeq: ++w.clientSeq, baseSeq: w.base, epoch: 1, payload })
    const t0 = process.hrtime.bigint()
    root.replica.sequencer.accept(M.codec.decodeMessage(bytes, Infinity))
    root.tick()
    rootUs += Number(process.hrtime.bigint() - t0) / 1000
    count++
  }
  const { sequenced, rejected, transformed, staleBases } = root.io.stats
  return { usPerFragment: rootUs / count, sequenced, rejected, transformed, stale: staleBases }
}

/** Median µs of `recipe` as doc.change computes it (produce, identities, diff, apply). */
function changeCost(M, initial, recipe, n) {
  const random = mulberry(7)
  let state = initial
  const times = []
  for (let i = 0; i < n; i++) {
    const r = recipe(random, state)
    const t0 = process.hrtime.bigint()
    state = M.change(state, r).next
    times.push(Number(process.hrtime.bigint() - t0) / 1000)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]
}

// ---- documents and recipes --------------------------------------------------------------

const listOf = (n) => ({ items: Array.from({ length: n }, (_, i) => ({ id: `i${i}`, done: false, label: `item ${i}` })), text: '' })

/** Insert, remove, move or edit one element of the list at random. */
const listRecipe = (random, view) => {
  const len = view.items.length
  const at = Math.floor(random() * len)
  const to = Math.floor(random() * len)
  const pick = random()
  return (d) => {
    if (pick < 0.3) d.items.splice(at, 0, { id: `n${random()}`, done: false, label: 'new' })
    else if (pick < 0.5 && len > 1) d.items.splice(at, 1)
    else if (pick < 0.65 && len > 1) {
      const [el] = d.items.splice(at, 1)
      d.items.splice(to, 0, el)
    } else d.items[at].done = !d.items[at].done
  }
}

const TEXT_KB = 100
const textOf = () => {
  const words = ['lorem', 'ipsum', 'dolor', 'sit', 'amet', 'consectetur', 'adipiscing', 'elit']
  let s = ''
  for (let i = 0; s.length < TEXT_KB * 1024; i++) s += words[i % words.length] + (i % 13 === 12 ? '.\n' : ' ')
  return { items: [], text: s }
}

/** One keystroke at a random place: a character typed (80 %) or deleted. */
const typeRecipe = (random, view) => {
  const at = Math.floor(random() * view.text.length)
  const del = random() < 0.2
  const ch = 'abcdefghij'[Math.floor(random() * 10)]
  return (d) => {
    d.text = del ? d.text.slice(0, at) + d.text.slice(at + 1) : d.text.slice(0, at) + ch + d.text.slice(at)
  }
}

const smallRecipe = (random, view) => (random() < 0.5 ? listRecipe(random, view) : typeRecipe(random, view))

export { modules, rootRun, changeCost, listOf, listRecipe, textOf, typeRecipe }

export async function intent(ctx) {
  const M = await modules()
  const n = ctx.smoke ? 150 : 3000
  const small = { items: listOf(100).items, text: 'hello world '.repeat(40) }
  const big = listOf(10_000)
  const text = textOf()
  ctx.progress?.('intent: root CPU per fragment, no concurrency / 5 writers with lag')
  const calm = rootRun(M, { initial: small, writers: 5, n, lag: 1, recipe: smallRecipe })
  const busy = rootRun(M, { initial: small, writers: 5, n, lag: 10, recipe: smallRecipe })
  ctx.progress?.('intent: 10,000-element list')
  const bigCalm = rootRun(M, { initial: big, writers: 5, n: n / 3, lag: 1, recipe: listRecipe })
  const bigBusy = rootRun(M, { initial: big, writers: 5, n: n / 3, lag: 10, recipe: listRecipe })
  const bigChange = changeCost(M, big, listRecipe, ctx.smoke ? 20 : 300)
  ctx.progress?.('intent: 100 KB text, 5 typists')
  const textBusy = rootRun(M, { initial: text, writers: 5, n: n / 3, lag: 10, recipe: typeRecipe })
  const textCalm = rootRun(M, { initial: text, writers: 5, n: n / 3, lag: 1, recipe: typeRecipe })
  const textChange = changeCost(M, text, typeRecipe, ctx.smoke ? 20 : 300)
  const rows = [
    row(
      'intent: root sequencing (100-element list + 500-char text)',
      'root CPU per fragment, 5 writers with concurrency (chains made 1–10 changes behind)',
      'µs',
      busy.usPerFragment,
      calm.usPerFragment,
      { baselineLabel: 'same, no concurrency' },
    ),
    row('intent: 10,000-element list', 'doc.change of one insert/remove/move/edit (p50)', 'µs', bigChange, null, { baselineLabel: '' }),
    row('intent: 10,000-element list', 'root CPU per fragment, 5 writers with concurrency', 'µs', bigBusy.usPerFragment, bigCalm.usPerFragment, { baselineLabel: 'same, no concurrency' }),
    row(`intent: ${TEXT_KB} KB text, 5 typists`, 'doc.change of one keystroke (p50)', 'µs', textChange, null, { baselineLabel: '' }),
    row(`intent: ${TEXT_KB} KB text, 5 typists`, 'root CPU per keystroke, 5 typists with concurrency', 'µs', textBusy.usPerFragment, textCalm.usPerFragment, { baselineLabel: 'same, no concurrency' }),
  ]
  return { rows, data: { n, calm, busy, bigCalm, bigBusy, bigChange, textCalm, textBusy, textChange } }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await intent({ smoke: process.argv.includes('--smoke'), reps: 1, progress: (m) => console.error(m) })
  for (const r of out.rows) console.log(`${r.scenario} | ${r.metric} | ${r.zinc?.toFixed(1)} ${r.unit} | ${r.baselineLabel} ${r.baseline?.toFixed?.(1) ?? ''}`)
  console.log(JSON.stringify(out.data, (k, v) => (typeof v === 'number' ? Math.round(v * 10) / 10 : v)))
}
