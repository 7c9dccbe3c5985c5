// Which peer module serves a system name of the peers scenario, and the change every system makes.
import { nowUs } from '../lib/worker.mjs'

/**
 * Every run: Zinc with the shapes in one flat record over ZeroMQ and over WebSocket, Zinc with
 * them in `keyed` buckets (the layout its README gives a collection of shapes), and Yjs.
 */
export const SYSTEMS = ['zinc-zmq', 'zinc-zmq-keyed', 'zinc-ws', 'yjs']
/** Systems only run when asked for (--systems). */
export const EXTRA_SYSTEMS = ['zinc-zmq-base']

/** { module, options } for a system name: Zinc over zmq or ws, or Yjs + Hocuspocus. */
export async function load(system) {
  if (system === 'zinc-zmq' || system === 'zinc-ws') return { mod: await import('./zinc.mjs'), options: { wire: system.slice(5) } }
  // Before/after in one run: ZINC_BASE_CORE=<another build's packages/core/dist> is zinc-zmq-base.
  if (system === 'zinc-zmq-base') {
    if (!process.env.ZINC_BASE_CORE) throw new Error('zinc-zmq-base needs ZINC_BASE_CORE=<dir of another build of packages/core/dist>')
    return { mod: await import('./zinc.mjs'), options: { wire: 'zmq', core: process.env.ZINC_BASE_CORE } }
  }
  // The shapes in Zinc's layout for wide maps (`keyed`: buckets by a hash of the id), not one flat record.
  if (system === 'zinc-zmq-keyed') return { mod: await import('./zinc.mjs'), options: { wire: 'zmq', keyed: true } }
  if (system === 'yjs') return { mod: await import('./yjs.mjs'), options: {} }
  throw new Error(`unknown peer system ${system}; known: ${SYSTEMS.join(', ')}`)
}

/**
 * The change: writer `wid`'s n-th shape (~100 bytes of JSON), set under one of its 100 keys.
 * `t` is the send time (µs, CLOCK_MONOTONIC, comparable across processes on one host).
 */
export function shapeChange(wid, n) {
  const id = `${wid}-${n % 100}`
  return [id, { id, x: n % 1000, y: (n * 7) % 1000, w: 40, h: 30, fill: '#3366cc', n, t: nowUs() }]
}

/** A document of `n` shapes (late join). */
export function shapes(n) {
  const out = {}
  for (let i = 0; i < n; i++) out[`s${i}`] = { id: `s${i}`, x: i % 1000, y: (i * 7) % 1000, w: 40, h: 30, fill: '#3366cc', n: i, t: 0 }
  return out
}
