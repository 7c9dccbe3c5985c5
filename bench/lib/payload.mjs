// Document shapes and change recipes shared by the Zinc workers, and raw bodies for the
// zeromq baselines, so both sides move the same number of bytes.
import { keyed, opComponents } from '@zinc/core'
import { nowUs } from './worker.mjs'

const PAD = 'x'.repeat(64 * 1024)

/** Padding so the JSON patch payload of one fragment is ~`size` bytes. */
export function pad(size) {
  return PAD.slice(0, Math.max(0, size - 60))
}

/** A 1 KB-ish fragment: replaces this producer's slot with { t, n, pad }. */
export function slotRecipe(key, size) {
  const p = pad(size)
  let n = 0
  return () => {
    const value = { t: nowUs(), n: n++, pad: p }
    return (d) => {
      d[key] = value
    }
  }
}

/** Raw body of `size` bytes carrying the send time (µs) as a float64 at offset 0. */
export function rawBody(size) {
  const b = Buffer.alloc(Math.max(8, size), 120)
  b.writeDoubleLE(nowUs(), 0)
  return b
}
export function rawTime(buf) {
  return buf.readDoubleLE(0)
}

/** The timestamp a Zinc fragment (from slotRecipe) carries. */
export function fragmentTime(fragment) {
  // The slot's new value arrives whole ({ t, n, pad } inserted) or, when only some of its fields
  // changed, as field edits (`t` and `n` replaced, `pad` untouched): look for `t` either way.
  for (const c of opComponents(fragment.op)) {
    const v = c.insert
    if (v && typeof v === 'object' && typeof v.t === 'number') return v.t
    if (typeof v === 'number' && c.path[c.path.length - 1] === 't') return v
  }
  return undefined
}

// ---- wide documents -------------------------------------------------------------------

export function shape(i) {
  return { id: `s${i}`, x: i % 1000, y: (i * 7) % 1000, w: 40, h: 30, fill: '#3366cc', z: i }
}

/** A canvas of `n` shapes, flat (Record<id, shape>) or keyed (bucketed). */
export function wideInitial(layout, n) {
  if (layout === 'flat') {
    const shapes = {}
    for (let i = 0; i < n; i++) shapes[`s${i}`] = shape(i)
    return { shapes }
  }
  return { shapes: keyed.from(Array.from({ length: n }, (_, i) => [`s${i}`, shape(i)])) }
}

/** Moves one random shape; the fragment is a single replace of `x`. */
export function wideRecipe(layout, n) {
  let k = 0
  let c = 0
  return () => {
    const id = `s${(k = (k * 1103515245 + 12345) >>> 0) % n}`
    const x = 1000 + c++ // never the shape's current x, so every change makes a patch
    if (layout === 'flat')
      return (d) => {
        d.shapes[id].x = x
      }
    return (d) => {
      keyed.draftOf(d.shapes, id).x = x
    }
  }
}

/** A document of about `mb` MB of JSON state (shapes with a bit of text), for late join. */
export function bigInitial(mb) {
  const text = 'lorem ipsum dolor sit amet '.repeat(4) // ~108 chars
  const perShape = JSON.stringify({ ...shape(100000), text }).length + 12
  const n = Math.max(1, Math.round((mb * 1024 * 1024) / perShape))
  const shapes = {}
  for (let i = 0; i < n; i++) shapes[`s${i}`] = { ...shape(i), text }
  return { shapes }
}

export function makeRecipe(spec) {
  if (spec.kind === 'slot') return slotRecipe(spec.key, spec.size)
  if (spec.kind === 'wide') return wideRecipe(spec.layout, spec.n)
  throw new Error(`unknown recipe ${spec.kind}`)
}

export function makeInitial(spec) {
  if (!spec || spec.kind === 'empty') return {}
  if (spec.kind === 'wide') return wideInitial(spec.layout, spec.n)
  if (spec.kind === 'big') return bigInitial(spec.mb)
  throw new Error(`unknown initial ${spec.kind}`)
}
