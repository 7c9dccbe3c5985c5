/**
 * Draws the scene on a <canvas>: everything at start and on resize, afterwards only the dirty
 * boxes (cleared, clipped, and redrawn from the grid in z order). Shapes outside the view are
 * never drawn.
 */
import type { Shape } from './model.js'
import { type Box, type Entry, type Scene } from './scene.js'

export class Renderer {
  readonly #ctx: CanvasRenderingContext2D
  #width = 0
  #height = 0
  #dpr = 1
  #full = true

  constructor(
    readonly canvas: HTMLCanvasElement,
    readonly scene: Scene,
  ) {
    this.#ctx = canvas.getContext('2d', { alpha: false })!
  }

  get view(): Box {
    return { x0: 0, y0: 0, x1: this.#width, y1: this.#height }
  }

  resize(width: number, height: number, dpr: number): void {
    this.#width = width
    this.#height = height
    this.#dpr = dpr
    this.canvas.width = Math.round(width * dpr)
    this.canvas.height = Math.round(height * dpr)
    this.canvas.style.width = `${width}px`
    this.canvas.style.height = `${height}px`
    this.#full = true
  }

  /** The next draw repaints the whole view (the drawing order changed). */
  invalidate(): void {
    this.#full = true
  }

  /** Draws what changed; returns how many shapes were drawn. */
  draw(dirty: Box[]): number {
    const ctx = this.#ctx
    ctx.setTransform(this.#dpr, 0, 0, this.#dpr, 0, 0)
    ctx.lineCap = 'round'
    ctx.lineJoin = 'round'
    const view = this.view
    let boxes = dirty.filter((b) => b.x1 >= view.x0 && b.x0 <= view.x1 && b.y1 >= view.y0 && b.y0 <= view.y1)
    if (!this.#full && boxes.length > 24) boxes = [union(boxes)]
    if (!this.#full && boxes.reduce((a, b) => a + (b.x1 - b.x0) * (b.y1 - b.y0), 0) > 0.5 * view.x1 * view.y1) this.#full = true
    if (this.#full) {
      this.#full = false
      return this.#region(view, false)
    }
    let drawn = 0
    for (const b of boxes) drawn += this.#region(b, true)
    return drawn
  }

  #region(box: Box, clip: boolean): number {
    const ctx = this.#ctx
    const b = { x0: Math.floor(box.x0) - 2, y0: Math.floor(box.y0) - 2, x1: Math.ceil(box.x1) + 2, y1: Math.ceil(box.y1) + 2 }
    ctx.save()
    if (clip) {
      ctx.beginPath()
      ctx.rect(b.x0, b.y0, b.x1 - b.x0, b.y1 - b.y0)
      ctx.clip()
    }
    ctx.fillStyle = '#ffffff'
    ctx.fillRect(b.x0, b.y0, b.x1 - b.x0, b.y1 - b.y0)
    const entries = this.scene.query(b)
    for (const e of entries) drawEntry(ctx, e)
    ctx.restore()
    return entries.length
  }
}

function union(boxes: Box[]): Box {
  const u = { ...boxes[0]! }
  for (const b of boxes) {
    if (b.x0 < u.x0) u.x0 = b.x0
    if (b.y0 < u.y0) u.y0 = b.y0
    if (b.x1 > u.x1) u.x1 = b.x1
    if (b.y1 > u.y1) u.y1 = b.y1
  }
  return u
}

function drawEntry(ctx: CanvasRenderingContext2D, e: Entry): void {
  const s = e.shape
  if (s.kind === 'note') return drawNote(ctx, s)
  const path = (e.path ??= pathOf(s))
  ctx.lineWidth = s.width
  ctx.strokeStyle = s.color
  if (s.fill && (s.kind === 'rect' || s.kind === 'ellipse')) {
    ctx.fillStyle = `${s.color}40`
    ctx.fill(path)
  }
  ctx.stroke(path)
}

/** The shape's outline in world coordinates. */
export function pathOf(s: Shape): Path2D {
  const path = new Path2D()
  const p = s.pts
  const x = s.x
  const y = s.y
  switch (s.kind) {
    case 'rect':
      path.rect(x + Math.min(p[0]!, p[2]!), y + Math.min(p[1]!, p[3]!), Math.abs(p[2]! - p[0]!), Math.abs(p[3]! - p[1]!))
      break
    case 'ellipse': {
      const rx = Math.abs(p[2]! - p[0]!) / 2
      const ry = Math.abs(p[3]! - p[1]!) / 2
      path.ellipse(x + (p[0]! + p[2]!) / 2, y + (p[1]! + p[3]!) / 2, rx, ry, 0, 0, Math.PI * 2)
      break
    }
    default:
      path.moveTo(x + p[0]!, y + p[1]!)
      if (p.length === 2) path.lineTo(x + p[0]! + 0.01, y + p[1]!)
      for (let i = 2; i < p.length; i += 2) path.lineTo(x + p[i]!, y + p[i + 1]!)
  }
  return path
}

export const NOTE_FONT = '14px system-ui, sans-serif'
export const NOTE_PAD = 8
export const NOTE_LINE = 18

/** The note's box in world coordinates. */
export function noteBox(s: Shape): { x: number; y: number; w: number; h: number } {
  const p = s.pts
  return { x: s.x + Math.min(p[0]!, p[2]!), y: s.y + Math.min(p[1]!, p[3]!), w: Math.abs(p[2]! - p[0]!), h: Math.abs(p[3]! - p[1]!) }
}

/** A sticky note: its colour, a shadow line, and its text wrapped to its width. */
function drawNote(ctx: CanvasRenderingContext2D, s: Shape): void {
  const b = noteBox(s)
  ctx.fillStyle = s.color
  ctx.fillRect(b.x, b.y, b.w, b.h)
  ctx.lineWidth = 1
  ctx.strokeStyle = 'rgba(0,0,0,.18)'
  ctx.strokeRect(b.x + 0.5, b.y + 0.5, b.w - 1, b.h - 1)
  ctx.save()
  ctx.beginPath()
  ctx.rect(b.x, b.y, b.w, b.h)
  ctx.clip()
  ctx.fillStyle = '#1f2937'
  ctx.font = NOTE_FONT
  ctx.textBaseline = 'top'
  let y = b.y + NOTE_PAD
  for (const line of wrap(ctx, s.text ?? '', b.w - 2 * NOTE_PAD)) {
    if (y > b.y + b.h) break
    ctx.fillText(line, b.x + NOTE_PAD, y)
    y += NOTE_LINE
  }
  ctx.restore()
}

/** Breaks text into lines no wider than `width` (at spaces when it can). */
function wrap(ctx: CanvasRenderingContext2D, text: string, width: number): string[] {
  const lines: string[] = []
  for (const para of text.split('\n')) {
    let line = ''
    for (const word of para.split(/(\s+)/)) {
      const next = line + word
      if (ctx.measureText(next).width <= width || line === '') line = next
      else {
        lines.push(line.trimEnd())
        line = word.trimStart()
      }
    }
    lines.push(line)
  }
  return lines
}
