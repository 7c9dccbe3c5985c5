/**
 * Drawing, once per animation frame: the scene follows the document (only what changed is
 * redrawn), the overlay shows selections and everyone's cursors (presence), and this
 * person's cursor and selection are shared, throttled to 30 a second.
 */
import { $, type App } from './app.js'
import { throttle } from './limiter.js'
import { isCursor, LIMITS, type Cursor } from './model.js'
import type { Box } from './scene.js'

export interface Me {
  name: string
  color: string
}

/** Frame times and change-to-screen times, for the perf hook. */
export class Perf {
  readonly local: number[] = []
  readonly remote: number[] = []
  /** Message arrival on the socket → subscribe callback: Zinc's decode + apply. */
  readonly remoteZinc: number[] = []
  readonly frames: number[] = []
  lastFrameMs = 0

  static keep(xs: number[], v: number): void {
    xs.push(v)
    if (xs.length > 500) xs.shift()
  }

  reset(): void {
    for (const xs of [this.local, this.remote, this.remoteZinc, this.frames]) xs.length = 0
  }
}

export function summary(xs: number[]): { n: number; median?: number; p95?: number; max?: number } {
  if (xs.length === 0) return { n: 0 }
  const s = [...xs].sort((a, b) => a - b)
  const q = (p: number) => +s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(2)
  return { n: s.length, median: q(0.5), p95: q(0.95), max: +s[s.length - 1]!.toFixed(2) }
}

/** Cursors drawn at most per frame (the count in the status bar says how many are in view). */
const MAX_CURSORS = 100

export class View {
  readonly perf = new Perf()
  /** Set by the document subscription when a remote change arrived; measured at the next render. */
  remotePending = false
  /** Other people present on the board, and how many of their cursors are in view (as last drawn). */
  people = 0
  inView = 0
  readonly #octx: CanvasRenderingContext2D
  /** Extra things to draw on the overlay (the marquee of a selection gesture). */
  marquee: Box | undefined

  constructor(
    readonly app: App,
    readonly me: Me,
  ) {
    this.#octx = app.overlay.getContext('2d')!
    new ResizeObserver(() => this.resize()).observe($('stage'))
  }

  /** Shares this person's cursor, tool and selection (ephemeral presence). */
  readonly sendPresence = throttle(33, () => {
    const { doc, ui } = this.app
    if (!doc || doc.closed) return
    const value: Cursor = { name: this.me.name, color: this.me.color, cursor: ui.cursor, tool: ui.tool, sel: [...ui.selected].slice(0, 100) }
    doc.presence.set(value)
  })

  /** Brings the scene to the document and draws what changed. Returns ms spent. */
  render(): number {
    const { app } = this
    const doc = app.doc
    if (!doc) return 0
    const t0 = performance.now()
    const state = doc.state
    if (app.scene.setLayers(state.layers)) {
      app.dirty.full = true
      app.dirty.layers = true
    }
    const { dirty, changed } = app.scene.sync(state.shapes)
    if (changed > 0 || dirty.length > 0 || app.dirty.full) {
      if (app.dirty.full) app.renderer.invalidate()
      app.dirty.full = false
      app.renderer.draw(dirty)
      for (const id of app.ui.selected) if (!app.scene.entries.has(id)) app.ui.selected.delete(id)
      app.dirty.overlay = true
      app.dirty.status = true
    }
    return performance.now() - t0
  }

  /** The frame's drawing part (gestures were flushed before it). */
  frame(t0: number): void {
    const { app } = this
    const remote = this.remotePending
    this.remotePending = false
    const ms = this.render()
    if (remote) Perf.keep(this.perf.remote, ms)
    if (app.dirty.overlay) this.drawOverlay()
    const total = performance.now() - t0
    Perf.keep(this.perf.frames, total)
    this.perf.lastFrameMs = total
  }

  resize(): void {
    const stage = $('stage')
    const dpr = window.devicePixelRatio || 1
    const w = stage.clientWidth
    const h = stage.clientHeight
    const overlay = this.app.overlay
    this.app.renderer.resize(w, h, dpr)
    overlay.width = Math.round(w * dpr)
    overlay.height = Math.round(h * dpr)
    overlay.style.width = `${w}px`
    overlay.style.height = `${h}px`
    this.app.dirty.full = true
    this.app.dirty.overlay = true
    this.app.requestFrame()
  }

  drawOverlay(): void {
    const { app } = this
    app.dirty.overlay = false
    const octx = this.#octx
    const overlay = app.overlay
    const dpr = window.devicePixelRatio || 1
    octx.setTransform(1, 0, 0, 1, 0, 0)
    octx.clearRect(0, 0, overlay.width, overlay.height)
    octx.setTransform(dpr, 0, 0, dpr, 0, 0)
    // My selection.
    octx.setLineDash([5, 4])
    octx.lineWidth = 1.5
    octx.strokeStyle = '#6366f1'
    for (const id of app.ui.selected) {
      const e = app.scene.entries.get(id)
      if (e) octx.strokeRect(e.box.x0 - 3, e.box.y0 - 3, e.box.x1 - e.box.x0 + 6, e.box.y1 - e.box.y0 + 6)
    }
    const b = this.marquee
    if (b) {
      octx.fillStyle = 'rgba(99,102,241,.08)'
      octx.fillRect(b.x0, b.y0, b.x1 - b.x0, b.y1 - b.y0)
      octx.strokeRect(b.x0, b.y0, b.x1 - b.x0, b.y1 - b.y0)
    }
    octx.setLineDash([])
    const { doc, endpoint } = app
    if (!doc || !endpoint) return
    // Other people: their selections and cursors (values from others are checked before use).
    // Only those in view are drawn, and at most MAX_CURSORS of them: with a crowd on the
    // board, a frame costs the same whether a hundred or a thousand people are present.
    const w = overlay.width / dpr
    const h = overlay.height / dpr
    let inView = 0
    let people = 0
    for (const [id, value] of doc.presence.get()) {
      if (id === endpoint.id || !isCursor(value)) continue
      people++
      const c = value.cursor
      if (!c || c[0] < -20 || c[1] < -20 || c[0] > w || c[1] > h) continue
      if (++inView > MAX_CURSORS) continue
      if (Array.isArray(value.sel)) {
        octx.strokeStyle = value.color
        octx.lineWidth = 1.5
        for (const sid of value.sel.slice(0, 100)) {
          const e = typeof sid === 'string' ? app.scene.entries.get(sid) : undefined
          if (e) octx.strokeRect(e.box.x0 - 3, e.box.y0 - 3, e.box.x1 - e.box.x0 + 6, e.box.y1 - e.box.y0 + 6)
        }
      }
      drawCursor(octx, c, value.color, value.name.slice(0, LIMITS.nameLength))
    }
    this.people = people
    this.inView = inView
  }
}

function drawCursor(octx: CanvasRenderingContext2D, [x, y]: [number, number], color: string, label: string): void {
  octx.fillStyle = color
  octx.beginPath()
  octx.moveTo(x, y)
  octx.lineTo(x + 12, y + 4.5)
  octx.lineTo(x + 5.5, y + 6.5)
  octx.lineTo(x + 3.5, y + 13)
  octx.closePath()
  octx.fill()
  octx.font = '12px system-ui, sans-serif'
  const w = octx.measureText(label).width + 10
  octx.beginPath()
  octx.roundRect(x + 10, y + 14, w, 18, 5)
  octx.fill()
  octx.fillStyle = '#fff'
  octx.fillText(label, x + 15, y + 27)
}
