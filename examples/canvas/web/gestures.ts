/**
 * Pointer gestures → document changes. A gesture gathers pointer moves and sends at most one
 * `doc.change` per animation frame (a stroke appends its new points, a drag moves by the
 * distance since the last frame), all in one undo group, so Ctrl-Z undoes the gesture.
 */
import { keyed } from '@zinc/core'
import type { App } from './app.js'
import { LIMITS, newShapeId, NOTE_COLORS, type Shape, type ShapeKind } from './model.js'
import type { NoteEditor } from './notes.js'
import { contains, type Box } from './scene.js'
import type { View } from './view.js'

type Point = [number, number]
type Gesture =
  | { type: 'pen'; id: string; ox: number; oy: number; length: number; buffer: number[]; last: Point }
  | { type: 'shape'; kind: 'rect' | 'ellipse' | 'line'; id: string | undefined; start: Point; end: Point; sent: Point }
  | { type: 'move'; ids: string[]; from: Point; to: Point; applied: Point }
  | { type: 'marquee'; start: Point; end: Point }

const boxFrom = (a: Point, b: Point): Box => ({ x0: Math.min(a[0], b[0]), y0: Math.min(a[1], b[1]), x1: Math.max(a[0], b[0]), y1: Math.max(a[1], b[1]) })
const clamp = (v: number) => Math.max(-LIMITS.coord, Math.min(LIMITS.coord, v))

export class Gestures {
  #gesture: Gesture | undefined

  constructor(
    readonly app: App,
    readonly view: View,
    readonly notes: NoteEditor,
  ) {
    const overlay = app.overlay
    overlay.addEventListener('pointerdown', (e) => this.#down(e))
    overlay.addEventListener('pointermove', (e) => this.#move(e))
    overlay.addEventListener('pointerup', () => this.end())
    overlay.addEventListener('pointercancel', () => this.end())
    overlay.addEventListener('pointerleave', () => {
      app.ui.cursor = null
      view.sendPresence()
    })
    overlay.addEventListener('dblclick', (e) => {
      const [x, y] = this.#at(e)
      const hit = app.scene.hit(x, y)
      if (hit?.shape.kind === 'note') notes.open(hit.id)
    })
  }

  get active(): boolean {
    return this.#gesture !== undefined
  }

  /** A new shape of this person's current style, on top of their current layer. */
  newShape(kind: ShapeKind, x: number, y: number, pts: number[]): Shape {
    const { ui } = this.app
    return { kind, x: Math.round(x), y: Math.round(y), pts, color: ui.color, width: ui.width, fill: ui.fill, z: this.app.nextZ(), by: this.app.endpoint?.id ?? '', layer: ui.layer }
  }

  /** Sends what the current gesture gathered since the last frame: one change per frame at most. */
  flush(): void {
    const g = this.#gesture
    if (!g || !hasWork(g)) return
    const { app } = this
    if (g.type === 'pen') {
      const pts = g.buffer
      const id = g.id
      const append = () => app.change((d) => void keyed.draftOf(d.shapes, id)?.pts.push(...pts))
      if (g.length + pts.length > LIMITS.strokeNumbers) {
        // A very long stroke continues as a new shape, so no single shape grows without bound.
        const [lx, ly] = [g.ox + pts[pts.length - 2]!, g.oy + pts[pts.length - 1]!]
        if (append()) this.#startPen(lx, ly)
        return
      }
      if (append()) {
        g.length += pts.length
        g.buffer = []
      }
    } else if (g.type === 'shape') {
      const [ex, ey] = g.end
      const dx = ex - g.start[0]
      const dy = ey - g.start[1]
      if (!g.id) {
        const id = newShapeId()
        const shape = this.newShape(g.kind, g.start[0], g.start[1], [0, 0, dx, dy])
        if (app.change((d) => keyed.set(d.shapes, id, shape))) {
          g.id = id
          g.sent = [ex, ey]
        }
        return
      }
      const id = g.id
      const resized = app.change((d) => {
        const s = keyed.draftOf(d.shapes, id)
        if (s) {
          s.pts[2] = dx
          s.pts[3] = dy
        }
      })
      if (resized) g.sent = [ex, ey]
    } else if (g.type === 'move') {
      const dx = g.to[0] - g.from[0] - g.applied[0]
      const dy = g.to[1] - g.from[1] - g.applied[1]
      const ids = g.ids
      const moved = app.change((d) => {
        for (const id of ids) {
          const s = keyed.draftOf(d.shapes, id)
          if (s) {
            s.x += dx
            s.y += dy
          }
        }
      })
      if (moved) g.applied = [g.applied[0] + dx, g.applied[1] + dy]
    }
  }

  /** Ends the gesture: its last bit is sent, its undo group closed. */
  end(): void {
    const g = this.#gesture
    if (!g) return
    const { app, view } = this
    this.flush()
    if (g.type === 'marquee') {
      const b = boxFrom(g.start, g.end)
      if (b.x1 - b.x0 > 2 || b.y1 - b.y0 > 2) for (const e of app.scene.query(b)) if (contains(b, e.box)) app.ui.selected.add(e.id)
      view.marquee = undefined
      app.dirty.overlay = true
      view.sendPresence()
    }
    if (hasWork(g)) {
      // Throttled at the very end: keep the gesture's last bit and send it shortly.
      setTimeout(() => {
        if (this.#gesture) return
        this.#gesture = g
        this.end()
      }, 50)
    }
    this.#gesture = undefined
    app.endGroup()
    app.requestFrame()
  }

  #at(e: MouseEvent): Point {
    const r = this.app.overlay.getBoundingClientRect()
    return [clamp(e.clientX - r.left), clamp(e.clientY - r.top)]
  }

  #startPen(x: number, y: number): void {
    const id = newShapeId()
    const shape = this.newShape('stroke', x, y, [0, 0])
    if (!this.app.change((d) => keyed.set(d.shapes, id, shape))) {
      this.#gesture = undefined
      return
    }
    this.#gesture = { type: 'pen', id, ox: shape.x, oy: shape.y, length: 2, buffer: [], last: [x, y] }
  }

  #down(e: PointerEvent): void {
    const { app, view } = this
    if (!app.doc || e.button !== 0) return
    this.notes.close()
    app.overlay.setPointerCapture(e.pointerId)
    const [x, y] = this.#at(e)
    app.beginGroup()
    const tool = app.ui.tool
    if (tool === 'pen') return this.#startPen(x, y)
    if (tool === 'rect' || tool === 'ellipse' || tool === 'line') {
      this.#gesture = { type: 'shape', kind: tool, id: undefined, start: [x, y], end: [x, y], sent: [x, y] }
      return
    }
    if (tool === 'note') {
      // A click places a note and opens it for typing.
      const id = newShapeId()
      const note = { ...this.newShape('note', x, y, [0, 0, 180, 120]), color: NOTE_COLORS[Math.floor(Math.random() * NOTE_COLORS.length)]!, width: 1, fill: true, text: '' }
      if (app.change((d) => keyed.set(d.shapes, id, note))) {
        app.endGroup()
        requestAnimationFrame(() => this.notes.open(id))
      }
      return
    }
    const hit = app.scene.hit(x, y)
    if (hit) {
      if (e.shiftKey) {
        if (app.ui.selected.has(hit.id)) app.ui.selected.delete(hit.id)
        else app.ui.selected.add(hit.id)
      } else if (!app.ui.selected.has(hit.id)) {
        app.ui.selected.clear()
        app.ui.selected.add(hit.id)
      }
      this.#gesture = { type: 'move', ids: [...app.ui.selected], from: [x, y], to: [x, y], applied: [0, 0] }
    } else {
      if (!e.shiftKey) app.ui.selected.clear()
      this.#gesture = { type: 'marquee', start: [x, y], end: [x, y] }
    }
    app.dirty.overlay = true
    app.dirty.status = true
    view.sendPresence()
    app.requestFrame()
  }

  #move(e: PointerEvent): void {
    const { app, view } = this
    const [x, y] = this.#at(e)
    app.ui.cursor = [Math.round(x), Math.round(y)]
    view.sendPresence()
    const g = this.#gesture
    if (!g) return
    if (g.type === 'pen') {
      const events = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [e]
      for (const ev of events.length > 0 ? events : [e]) {
        const [px, py] = this.#at(ev)
        if (Math.hypot(px - g.last[0], py - g.last[1]) < 1.5) continue
        g.last = [px, py]
        g.buffer.push(Math.round(px - g.ox), Math.round(py - g.oy))
      }
    } else if (g.type === 'shape') {
      g.end = [Math.round(x), Math.round(y)]
    } else if (g.type === 'marquee') {
      g.end = [Math.round(x), Math.round(y)]
      view.marquee = boxFrom(g.start, g.end)
      app.dirty.overlay = true
    } else {
      g.to = [Math.round(x), Math.round(y)]
    }
    app.requestFrame()
  }

  /** Whether the gesture still has something to send (the frame loop keeps running while so). */
  get hasWork(): boolean {
    return this.#gesture !== undefined && hasWork(this.#gesture)
  }
}

function hasWork(g: Gesture): boolean {
  if (g.type === 'pen') return g.buffer.length > 0
  if (g.type === 'shape') return g.end[0] !== g.sent[0] || g.end[1] !== g.sent[1]
  if (g.type === 'move') return g.to[0] - g.from[0] !== g.applied[0] || g.to[1] - g.from[1] !== g.applied[1]
  return false
}
