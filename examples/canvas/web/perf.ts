/**
 * Load and measurements: adding thousands of random shapes, timing local changes, and a digest
 * that two tabs compare to prove they hold the same drawing. Stress data goes on a board of its
 * own (`stress-…`), never on a board people draw on.
 */
import { keyed } from '@zinc/core'
import type { App } from './app.js'
import { COLORS, newShapeId, type Shape } from './model.js'
import { Perf, summary, type View } from './view.js'

export const nextFrame = () => new Promise<number>((r) => requestAnimationFrame(r))
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A fresh board name for stress data. */
export const stressBoard = () => `stress-${Math.random().toString(36).slice(2, 8)}`

/** Adds `count` random shapes, 1,000 per change (one change per frame). */
export async function stress(app: App, count: number): Promise<void> {
  const doc = app.doc
  if (!doc) return
  const view = app.renderer.view
  const w = Math.max(400, view.x1)
  const h = Math.max(300, view.y1)
  const started = performance.now()
  let z = app.nextZ()
  for (let done = 0; done < count;) {
    const n = Math.min(1000, count - done)
    const batch: Array<[string, Shape]> = []
    for (let i = 0; i < n; i++) {
      const kind = (['rect', 'ellipse', 'line', 'stroke'] as const)[Math.floor(Math.random() * 4)]!
      const x = Math.round(Math.random() * (w - 40))
      const y = Math.round(Math.random() * (h - 40))
      const a = Math.round(8 + Math.random() * 32)
      const b = Math.round(8 + Math.random() * 32)
      const pts = kind === 'stroke' ? [0, 0, a / 2, b, a, b / 3, a * 0.8, 0] : [0, 0, a, b]
      batch.push([
        newShapeId(),
        {
          kind,
          x,
          y,
          pts,
          color: COLORS[Math.floor(Math.random() * COLORS.length)]!,
          width: 1 + Math.floor(Math.random() * 3),
          fill: Math.random() < 0.3,
          z: z++,
          by: app.endpoint?.id ?? '',
          layer: app.ui.layer,
        },
      ])
    }
    await nextFrame()
    app.beginGroup()
    if (!app.change((d) => batch.forEach(([id, s]) => keyed.set(d.shapes, id, s)))) {
      await sleep(100)
      continue
    }
    app.endGroup()
    done += n
  }
  // Counted in the document, not on screen (the last batch may not be drawn yet).
  const total = keyed.size(doc.state.shapes)
  console.log(`[zinc canvas] stress: added ${count.toLocaleString('en')} shapes in ${(performance.now() - started).toFixed(0)} ms; the board holds ${total.toLocaleString('en')}`)
  app.notify(`Added ${count.toLocaleString('en')} shapes`)
}

/**
 * Measures `samples` local changes at the current size: one shape moved per frame,
 * performance.now around doc.change + render. Prints a summary.
 */
export async function measureLocal(app: App, view: View, samples = 30): Promise<ReturnType<typeof summary>> {
  const ids = [...app.scene.entries.keys()]
  const doc = app.doc
  if (!doc || ids.length === 0) return { n: 0 }
  const times: number[] = []
  app.beginGroup()
  for (let i = 0; i < samples; i++) {
    await nextFrame()
    const id = ids[Math.floor(Math.random() * ids.length)]!
    const t0 = performance.now()
    app.change((d) => {
      const s = keyed.draftOf(d.shapes, id)
      if (s) s.x += i % 2 === 0 ? 3 : -3
    }, 0)
    view.render()
    const ms = performance.now() - t0
    times.push(ms)
    Perf.keep(view.perf.local, ms)
  }
  app.endGroup()
  const s = summary(times)
  console.log(`[zinc perf] local change + render at ${app.scene.entries.size.toLocaleString('en')} shapes: ${JSON.stringify(s)} ms`)
  return s
}

/** A digest of the drawing, equal on two replicas exactly when their shapes and layers are equal. */
export function digest(app: App): { count: number; hash: string } {
  const doc = app.doc
  if (!doc) return { count: 0, hash: '' }
  const all = [...keyed.entries(doc.state.shapes)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  let h = 0x811c9dc5
  const text =
    all.map(([id, s]) => `${id}|${s.kind}|${s.x}|${s.y}|${s.z}|${s.color}|${s.width}|${s.fill}|${s.layer ?? ''}|${s.text ?? ''}|${s.pts.join(',')}`).join('\n') +
    `\n${JSON.stringify(doc.state.layers ?? null)}`
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return { count: all.length, hash: `${all.length}:${(h >>> 0).toString(16)}` }
}
