/**
 * What is on the canvas, indexed for drawing: every drawable shape with its bounding box in a
 * uniform grid, kept in step with the document by diffing immutable states (an unchanged bucket
 * is the same object, so a change costs the buckets it touched, not 10,000 shapes).
 */
import { keyed, type Keyed } from '@zinc/core'
import { isShape, type Shape } from './model.js'

export interface Box {
  x0: number
  y0: number
  x1: number
  y1: number
}

export interface Entry {
  id: string
  shape: Shape
  box: Box
  /** Grid cells holding this entry; undefined when it is in `big`. */
  cells: number[] | undefined
  /** Path2D in world coordinates, built on first draw. */
  path?: Path2D
}

const CELL = 256
/** A shape spanning more cells than this goes in the small "big shapes" list instead. */
const MAX_CELLS = 256
const OFFSET = 1 << 15

const cellKey = (cx: number, cy: number) => (cx + OFFSET) * 65_536 + (cy + OFFSET)

export const intersects = (a: Box, b: Box) => a.x0 <= b.x1 && b.x0 <= a.x1 && a.y0 <= b.y1 && b.y0 <= a.y1
export const contains = (outer: Box, inner: Box) => outer.x0 <= inner.x0 && outer.y0 <= inner.y0 && outer.x1 >= inner.x1 && outer.y1 >= inner.y1

export function boxOf(s: Shape): Box {
  let x0 = Infinity
  let y0 = Infinity
  let x1 = -Infinity
  let y1 = -Infinity
  const p = s.pts
  for (let i = 0; i < p.length; i += 2) {
    const x = p[i]!
    const y = p[i + 1]!
    if (x < x0) x0 = x
    if (x > x1) x1 = x
    if (y < y0) y0 = y
    if (y > y1) y1 = y
  }
  const pad = s.width / 2 + 1
  return { x0: s.x + x0 - pad, y0: s.y + y0 - pad, x1: s.x + x1 + pad, y1: s.y + y1 + pad }
}

/** Drawing order: layer (bottom first), then z, then id. */
export const drawOrder = (rank: ReadonlyMap<string, number>) => (a: Entry, b: Entry) =>
  (rank.get(a.shape.layer ?? '') ?? -1) - (rank.get(b.shape.layer ?? '') ?? -1) || a.shape.z - b.shape.z || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

export class Scene {
  readonly entries = new Map<string, Entry>()
  readonly #grid = new Map<number, Set<Entry>>()
  readonly #big = new Set<Entry>()
  #state: Keyed<Shape> = {}
  #layers: readonly unknown[] | undefined
  #order = drawOrder(new Map())
  maxZ = 0

  /** Follows the document's layer list; true when the order changed (everything must be redrawn). */
  setLayers(layers: readonly { id: string }[] | undefined): boolean {
    if (layers === this.#layers) return false
    this.#layers = layers
    this.#order = drawOrder(new Map((layers ?? []).map((l, i) => [l.id, i])))
    return true
  }

  /**
   * Brings the index to `shapes`; returns the boxes that need drawing again (old and new place
   * of every shape that changed) and how many shapes changed.
   */
  sync(shapes: Keyed<Shape>): { dirty: Box[]; changed: number } {
    const prev = this.#state
    this.#state = shapes
    const dirty: Box[] = []
    let changed = 0
    if (prev === shapes) return { dirty, changed }
    // keyed.diff skips every bucket shared by both versions: the cost follows the change.
    const { upserted, removed } = keyed.diff(prev, shapes)
    for (const [id, shape] of upserted) {
      changed++
      this.#upsert(id, shape, dirty)
    }
    for (const id of removed) changed += this.#remove(id, dirty)
    return { dirty, changed }
  }

  /** Entries whose box meets `box`, in drawing order. */
  query(box: Box): Entry[] {
    const found = new Set<Entry>()
    const cx0 = Math.floor(box.x0 / CELL)
    const cx1 = Math.floor(box.x1 / CELL)
    const cy0 = Math.floor(box.y0 / CELL)
    const cy1 = Math.floor(box.y1 / CELL)
    if ((cx1 - cx0 + 1) * (cy1 - cy0 + 1) > this.#grid.size) {
      for (const e of this.entries.values()) if (intersects(e.box, box)) found.add(e)
    } else {
      for (let cx = cx0; cx <= cx1; cx++)
        for (let cy = cy0; cy <= cy1; cy++) {
          const cell = this.#grid.get(cellKey(cx, cy))
          if (cell) for (const e of cell) if (intersects(e.box, box)) found.add(e)
        }
      for (const e of this.#big) if (intersects(e.box, box)) found.add(e)
    }
    return [...found].sort(this.#order)
  }

  /** The topmost entry at a point, within `tolerance` of its outline (strokes, lines) or inside it. */
  hit(x: number, y: number, tolerance = 4): Entry | undefined {
    const candidates = this.query({ x0: x - tolerance, y0: y - tolerance, x1: x + tolerance, y1: y + tolerance })
    for (let i = candidates.length - 1; i >= 0; i--) {
      const e = candidates[i]!
      if (hitShape(e.shape, x, y, tolerance)) return e
    }
    return undefined
  }

  #upsert(id: string, shape: unknown, dirty: Box[]): void {
    if (!isShape(shape)) {
      // Not something we can draw (a newer client's kind, or bad input): leave it out.
      this.#remove(id, dirty)
      return
    }
    const old = this.entries.get(id)
    if (old) {
      dirty.push(old.box)
      this.#unindex(old)
    }
    const entry: Entry = { id, shape, box: boxOf(shape), cells: undefined }
    this.entries.set(id, entry)
    this.#index(entry)
    if (shape.z > this.maxZ) this.maxZ = shape.z
    dirty.push(entry.box)
  }

  #remove(id: string, dirty: Box[]): number {
    const old = this.entries.get(id)
    if (!old) return 0
    this.entries.delete(id)
    this.#unindex(old)
    dirty.push(old.box)
    return 1
  }

  #index(e: Entry): void {
    const cx0 = Math.floor(e.box.x0 / CELL)
    const cx1 = Math.floor(e.box.x1 / CELL)
    const cy0 = Math.floor(e.box.y0 / CELL)
    const cy1 = Math.floor(e.box.y1 / CELL)
    if ((cx1 - cx0 + 1) * (cy1 - cy0 + 1) > MAX_CELLS) {
      this.#big.add(e)
      return
    }
    e.cells = []
    for (let cx = cx0; cx <= cx1; cx++)
      for (let cy = cy0; cy <= cy1; cy++) {
        const key = cellKey(cx, cy)
        let cell = this.#grid.get(key)
        if (!cell) this.#grid.set(key, (cell = new Set()))
        cell.add(e)
        e.cells.push(key)
      }
  }

  #unindex(e: Entry): void {
    if (!e.cells) {
      this.#big.delete(e)
      return
    }
    for (const key of e.cells) {
      const cell = this.#grid.get(key)
      if (!cell) continue
      cell.delete(e)
      if (cell.size === 0) this.#grid.delete(key)
    }
  }
}

function segDist2(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax
  const dy = by - ay
  const len = dx * dx + dy * dy
  const t = len === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len))
  const x = ax + t * dx - px
  const y = ay + t * dy - py
  return x * x + y * y
}

export function hitShape(s: Shape, x: number, y: number, tolerance: number): boolean {
  const lx = x - s.x
  const ly = y - s.y
  const p = s.pts
  const r = s.width / 2 + tolerance
  if (s.kind === 'rect' || s.kind === 'ellipse' || s.kind === 'note') {
    const x0 = Math.min(p[0]!, p[2]!) - r
    const x1 = Math.max(p[0]!, p[2]!) + r
    const y0 = Math.min(p[1]!, p[3]!) - r
    const y1 = Math.max(p[1]!, p[3]!) + r
    if (s.kind !== 'ellipse') return lx >= x0 && lx <= x1 && ly >= y0 && ly <= y1
    const cx = (x0 + x1) / 2
    const cy = (y0 + y1) / 2
    const rx = Math.max(1, (x1 - x0) / 2)
    const ry = Math.max(1, (y1 - y0) / 2)
    return ((lx - cx) / rx) ** 2 + ((ly - cy) / ry) ** 2 <= 1
  }
  if (p.length === 2) return (lx - p[0]!) ** 2 + (ly - p[1]!) ** 2 <= r * r
  for (let i = 2; i < p.length; i += 2) if (segDist2(lx, ly, p[i - 2]!, p[i - 1]!, p[i]!, p[i + 1]!) <= r * r) return true
  return false
}
