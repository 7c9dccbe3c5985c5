/**
 * The Zinc canvas page. This tab is a leaf Endpoint: @zinc/core runs here, on the WebSocket
 * transport, joined to the server's edge relay. Everything drawn is a `doc.change`; everyone's
 * cursors are presence.
 */
import { Endpoint, keyed, type Document, type DocumentFragment, type Role } from '@zinc/core'
import { WsClientTransport, type ConnectionState } from '@zinc/transport-ws/browser'
import { throttle, TokenBucket } from './limiter.js'
import { cleanShape, COLORS, friendlyColor, friendlyName, isCursor, LIMITS, newShapeId, type Canvas, type Cursor, type Shape, type ShapeKind } from './model.js'
import { netSwitch } from './net.js'
import { Renderer } from './render.js'
import { contains, Scene, type Box } from './scene.js'

type Tool = 'select' | 'pen' | 'rect' | 'ellipse' | 'line'
type Doc = Document<Canvas>

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T
const params = new URLSearchParams(location.search)
const board = (params.get('board') || 'main').slice(0, 64)
const DOC_ID = `canvas/${board}`
/** The server binds the edge relay's WebSocket channels on these paths of the page's own port. */
const PATHS = { inbound: '/zinc/in', outbound: '/zinc/out' }

// ---- this tab's person -------------------------------------------------------------------
const me = {
  name: sessionStorage.getItem('zinc-name') || friendlyName(),
  color: sessionStorage.getItem('zinc-color') || friendlyColor(),
}
sessionStorage.setItem('zinc-name', me.name)
sessionStorage.setItem('zinc-color', me.color)

// ---- UI state ----------------------------------------------------------------------------
const ui = {
  tool: 'pen' as Tool,
  color: COLORS[0] as string,
  width: 4,
  fill: false,
  selected: new Set<string>(),
  cursor: null as [number, number] | null,
}

const net = netSwitch()
const transport = new WsClientTransport({ WebSocket: net.WebSocket, reconnectMaxMs: 2000 })
const channelStates = new Map<string, ConnectionState>()
let parentLost = false
/** When 'parent-lost' fired (performance.now); anything heard from the parent later means it is back. */
let parentLostAt = 0
let role: Role | '–' = '–'
let peers = 0
let failed: string | undefined

const scene = new Scene()
const base = $<HTMLCanvasElement>('base')
const overlay = $<HTMLCanvasElement>('overlay')
const renderer = new Renderer(base, scene)
const octx = overlay.getContext('2d')!
const limiter = new TokenBucket(LIMITS.changesPerSecond, LIMITS.changeBurst)

// ---- measurements ------------------------------------------------------------------------
const perf = {
  local: [] as number[],
  remote: [] as number[],
  /** Message arrival on the socket → subscribe callback: Zinc's decode + apply. */
  remoteZinc: [] as number[],
  frames: [] as number[],
}
const keep = (xs: number[], v: number) => {
  xs.push(v)
  if (xs.length > 500) xs.shift()
}
function summary(xs: number[]) {
  if (xs.length === 0) return { n: 0 }
  const s = [...xs].sort((a, b) => a - b)
  const q = (p: number) => +s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(2)
  return { n: s.length, median: q(0.5), p95: q(0.95), max: +s[s.length - 1]!.toFixed(2) }
}
function perfReport() {
  return { shapes: scene.entries.size, local: summary(perf.local), remote: summary(perf.remote), remoteZinc: summary(perf.remoteZinc), frame: summary(perf.frames) }
}

// ---- rendering ---------------------------------------------------------------------------
let doc: Doc | undefined
let frameRequested = false
let overlayDirty = true
let pendingRemote: { callbackAt: number } | undefined
let statusDirty = true

function requestFrame(): void {
  if (frameRequested) return
  frameRequested = true
  requestAnimationFrame(frame)
}

/** Syncs the scene with the document and draws what changed. Returns ms spent. */
function renderNow(): number {
  if (!doc) return 0
  const t0 = performance.now()
  const { dirty, changed } = scene.sync(doc.state.shapes)
  if (changed > 0 || dirty.length > 0 || needFull) {
    needFull = false
    renderer.draw(dirty)
    if (ui.selected.size > 0) for (const id of ui.selected) if (!scene.entries.has(id)) ui.selected.delete(id)
    overlayDirty = true
    statusDirty = true
  }
  return performance.now() - t0
}
let needFull = true

function frame(): void {
  frameRequested = false
  const t0 = performance.now()
  flushGesture()
  const remote = pendingRemote
  pendingRemote = undefined
  const ms = renderNow()
  if (remote) keep(perf.remote, ms)
  if (overlayDirty) drawOverlay()
  if (statusDirty) updateStatus()
  const total = performance.now() - t0
  keep(perf.frames, total)
  lastFrameMs = total
  if (gesture && gestureHasWork()) requestFrame()
}
let lastFrameMs = 0

function resize(): void {
  const stage = $('stage')
  const dpr = window.devicePixelRatio || 1
  const w = stage.clientWidth
  const h = stage.clientHeight
  renderer.resize(w, h, dpr)
  overlay.width = Math.round(w * dpr)
  overlay.height = Math.round(h * dpr)
  overlay.style.width = `${w}px`
  overlay.style.height = `${h}px`
  needFull = true
  overlayDirty = true
  requestFrame()
}

function drawOverlay(): void {
  overlayDirty = false
  const dpr = window.devicePixelRatio || 1
  octx.setTransform(1, 0, 0, 1, 0, 0)
  octx.clearRect(0, 0, overlay.width, overlay.height)
  octx.setTransform(dpr, 0, 0, dpr, 0, 0)
  // My selection.
  octx.setLineDash([5, 4])
  octx.lineWidth = 1.5
  octx.strokeStyle = '#6366f1'
  for (const id of ui.selected) {
    const e = scene.entries.get(id)
    if (e) octx.strokeRect(e.box.x0 - 3, e.box.y0 - 3, e.box.x1 - e.box.x0 + 6, e.box.y1 - e.box.y0 + 6)
  }
  if (gesture?.type === 'marquee') {
    const b = boxFrom(gesture.start, gesture.end)
    octx.fillStyle = 'rgba(99,102,241,.08)'
    octx.fillRect(b.x0, b.y0, b.x1 - b.x0, b.y1 - b.y0)
    octx.strokeRect(b.x0, b.y0, b.x1 - b.x0, b.y1 - b.y0)
  }
  octx.setLineDash([])
  if (!doc || !endpoint) return
  // Other people: their selections and cursors.
  for (const [id, value] of doc.presence.get()) {
    if (id === endpoint.id || !isCursor(value)) continue
    const c = value as Cursor
    if (Array.isArray(c.sel)) {
      octx.strokeStyle = c.color
      octx.lineWidth = 1.5
      for (const sid of c.sel.slice(0, 100)) {
        const e = typeof sid === 'string' ? scene.entries.get(sid) : undefined
        if (e) octx.strokeRect(e.box.x0 - 3, e.box.y0 - 3, e.box.x1 - e.box.x0 + 6, e.box.y1 - e.box.y0 + 6)
      }
    }
    if (!c.cursor) continue
    const [x, y] = c.cursor
    octx.fillStyle = c.color
    octx.beginPath()
    octx.moveTo(x, y)
    octx.lineTo(x + 12, y + 4.5)
    octx.lineTo(x + 5.5, y + 6.5)
    octx.lineTo(x + 3.5, y + 13)
    octx.closePath()
    octx.fill()
    const label = c.name.slice(0, LIMITS.nameLength)
    octx.font = '12px system-ui, sans-serif'
    const w = octx.measureText(label).width + 10
    octx.beginPath()
    octx.roundRect(x + 10, y + 14, w, 18, 5)
    octx.fill()
    octx.fillStyle = '#fff'
    octx.fillText(label, x + 15, y + 27)
  }
}

// ---- status bar, toasts ------------------------------------------------------------------
function connection(): string {
  if (failed) return 'failed'
  const states = [...channelStates.values()]
  if (states.some((s) => s === 'closed')) return 'closed'
  // The parent heartbeats every 250 ms: a message after 'parent-lost' means it is back, even
  // when 'parent-back' does not come (a leaf re-joining through failover).
  const lost = parentLost && net.lastMessageAt <= parentLostAt
  if (lost || states.some((s) => s === 'reconnecting')) return 'reconnecting'
  if (endpoint && states.length > 0 && states.every((s) => s === 'connected')) return 'connected'
  return states.length > 0 && !endpoint ? 'connecting' : endpoint ? 'reconnecting' : 'connecting'
}

const setText = (id: string, text: string) => {
  const el = $(id)
  if (el.textContent !== text) el.textContent = text
}

function updateStatus(): void {
  statusDirty = false
  const conn = connection()
  const el = $('st-conn')
  setText('st-conn', net.offline ? `${conn} (offline)` : conn)
  el.className = `conn ${conn}`
  setText('st-role', role)
  setText('st-peers', String(peers))
  setText('st-people', String(doc ? [...doc.presence.get().values()].filter(isCursor).length : 0))
  setText('st-seq', String(doc?.seq ?? 0))
  setText('st-shapes', scene.entries.size.toLocaleString('en'))
  setText('st-pending', String(doc?.pendingCount ?? 0))
  setText('st-frame', lastFrameMs ? `${lastFrameMs.toFixed(1)} ms` : '–')
  setText('st-board', `board "${board}"`)
  $<HTMLButtonElement>('undo').disabled = !doc?.canUndo
  $<HTMLButtonElement>('redo').disabled = !doc?.canRedo
  $<HTMLButtonElement>('delete').disabled = ui.selected.size === 0
}

let toastTimer: ReturnType<typeof setTimeout> | undefined
function toast(message: string, kind: 'info' | 'warn' = 'info'): void {
  const el = $('toast')
  el.textContent = message
  el.className = kind
  el.hidden = false
  clearTimeout(toastTimer)
  toastTimer = setTimeout(() => (el.hidden = true), 3500)
}

let lastThrottleToast = 0
function throttled(): void {
  const now = performance.now()
  if (now - lastThrottleToast < 2000) return
  lastThrottleToast = now
  console.warn(`[zinc canvas] throttled: more than ${LIMITS.changesPerSecond} changes a second from this tab`)
  toast(`Slow down: this tab is limited to ${LIMITS.changesPerSecond} changes a second. Drawing continues as soon as it can.`, 'warn')
}

// ---- changes and undo groups -------------------------------------------------------------
/** The current gesture: its changes share an undo group, so one Ctrl-Z undoes the gesture. */
let gestureId = 0
let groupSize = 0

/** One doc.change through the tab's rate limit. False when throttled or refused. */
function change(recipe: (d: Canvas) => void, cost = 1): DocumentFragment | false {
  if (!doc) return false
  if (!limiter.take(cost)) {
    throttled()
    return false
  }
  try {
    const fragment = doc.change(recipe as never, { undoGroup: gestureId })
    if (!fragment) return false
    groupSize++
    requestFrame()
    return fragment
  } catch (error) {
    toast(`That change could not be made: ${(error as Error).message}`, 'warn')
    return false
  }
}

function endGroup(): void {
  if (groupSize === 0) return
  gestureId++
  groupSize = 0
  statusDirty = true
}

function undo(): void {
  step(() => doc!.undo())
}
function redo(): void {
  step(() => doc!.redo())
}
function step(one: () => boolean): void {
  if (!doc || gesture) return
  if (!limiter.take(1)) return throttled()
  endGroup()
  one()
  requestFrame()
  statusDirty = true
}

function deleteSelected(): void {
  if (ui.selected.size === 0) return
  const ids = [...ui.selected]
  if (change((d) => ids.forEach((id) => keyed.delete(d.shapes as never, id)))) endGroup()
  ui.selected.clear()
  sendPresence()
}

function newShape(kind: ShapeKind, x: number, y: number, pts: number[]): Shape {
  return { kind, x: Math.round(x), y: Math.round(y), pts, color: ui.color, width: ui.width, fill: ui.fill, z: scene.maxZ + 1, by: endpoint?.id ?? '' }
}

// ---- gestures ----------------------------------------------------------------------------
type Gesture =
  | { type: 'pen'; id: string; ox: number; oy: number; length: number; buffer: number[]; last: [number, number] }
  | { type: 'shape'; kind: 'rect' | 'ellipse' | 'line'; id: string | undefined; start: [number, number]; end: [number, number]; sent: [number, number] }
  | { type: 'move'; ids: string[]; from: [number, number]; to: [number, number]; applied: [number, number] }
  | { type: 'marquee'; start: [number, number]; end: [number, number]; additive: boolean }
let gesture: Gesture | undefined

const boxFrom = (a: [number, number], b: [number, number]): Box => ({ x0: Math.min(a[0], b[0]), y0: Math.min(a[1], b[1]), x1: Math.max(a[0], b[0]), y1: Math.max(a[1], b[1]) })
const clamp = (v: number) => Math.max(-LIMITS.coord, Math.min(LIMITS.coord, v))

function gestureHasWork(): boolean {
  const g = gesture
  if (!g) return false
  if (g.type === 'pen') return g.buffer.length > 0
  if (g.type === 'shape') return g.end[0] !== g.sent[0] || g.end[1] !== g.sent[1]
  if (g.type === 'move') return g.to[0] - g.from[0] !== g.applied[0] || g.to[1] - g.from[1] !== g.applied[1]
  return false
}

/** Sends what the current gesture gathered since the last frame: one change per frame at most. */
function flushGesture(): void {
  const g = gesture
  if (!g || !gestureHasWork()) return
  if (g.type === 'pen') {
    const pts = g.buffer
    const id = g.id
    if (g.length + pts.length > LIMITS.strokeNumbers) {
      // A very long stroke continues as a new shape, so no single shape grows without bound.
      const [lx, ly] = [g.ox + pts[pts.length - 2]!, g.oy + pts[pts.length - 1]!]
      if (!change((d) => void (keyed.draftOf(d.shapes as never, id) as Shape | undefined)?.pts.push(...pts))) return
      startPen(lx, ly)
      return
    }
    if (change((d) => void (keyed.draftOf(d.shapes as never, id) as Shape | undefined)?.pts.push(...pts))) {
      g.length += pts.length
      g.buffer = []
    }
  } else if (g.type === 'shape') {
    const [ex, ey] = g.end
    const dx = ex - g.start[0]
    const dy = ey - g.start[1]
    if (!g.id) {
      const id = newShapeId()
      const shape = newShape(g.kind, g.start[0], g.start[1], [0, 0, dx, dy])
      if (change((d) => keyed.set(d.shapes as never, id, shape))) {
        g.id = id
        g.sent = [ex, ey]
      }
      return
    }
    const id = g.id
    if (change((d) => {
      const s = keyed.draftOf(d.shapes as never, id) as Shape | undefined
      if (s) {
        s.pts[2] = dx
        s.pts[3] = dy
      }
    }))
      g.sent = [ex, ey]
  } else if (g.type === 'move') {
    const dx = g.to[0] - g.from[0] - g.applied[0]
    const dy = g.to[1] - g.from[1] - g.applied[1]
    const ids = g.ids
    if (change((d) => {
      for (const id of ids) {
        const s = keyed.draftOf(d.shapes as never, id) as Shape | undefined
        if (s) {
          s.x += dx
          s.y += dy
        }
      }
    }))
      g.applied = [g.applied[0] + dx, g.applied[1] + dy]
  }
}

function startPen(x: number, y: number): void {
  const id = newShapeId()
  const shape = newShape('stroke', x, y, [0, 0])
  if (!change((d) => keyed.set(d.shapes as never, id, shape))) {
    gesture = undefined
    return
  }
  gesture = { type: 'pen', id, ox: shape.x, oy: shape.y, length: 2, buffer: [], last: [x, y] }
}

function pointerAt(e: PointerEvent): [number, number] {
  const r = overlay.getBoundingClientRect()
  return [clamp(e.clientX - r.left), clamp(e.clientY - r.top)]
}

overlay.addEventListener('pointerdown', (e) => {
  if (!doc || e.button !== 0) return
  overlay.setPointerCapture(e.pointerId)
  const [x, y] = pointerAt(e)
  groupSize = 0
  switch (ui.tool) {
    case 'pen':
      startPen(x, y)
      break
    case 'rect':
    case 'ellipse':
    case 'line':
      gesture = { type: 'shape', kind: ui.tool, id: undefined, start: [x, y], end: [x, y], sent: [x, y] }
      break
    case 'select': {
      const hit = scene.hit(x, y)
      if (hit) {
        if (e.shiftKey) {
          if (ui.selected.has(hit.id)) ui.selected.delete(hit.id)
          else ui.selected.add(hit.id)
        } else if (!ui.selected.has(hit.id)) {
          ui.selected.clear()
          ui.selected.add(hit.id)
        }
        gesture = { type: 'move', ids: [...ui.selected], from: [x, y], to: [x, y], applied: [0, 0] }
      } else {
        if (!e.shiftKey) ui.selected.clear()
        gesture = { type: 'marquee', start: [x, y], end: [x, y], additive: e.shiftKey }
      }
      overlayDirty = true
      statusDirty = true
      sendPresence()
      requestFrame()
    }
  }
})

overlay.addEventListener('pointermove', (e) => {
  const [x, y] = pointerAt(e)
  ui.cursor = [Math.round(x), Math.round(y)]
  sendPresence()
  const g = gesture
  if (!g) return
  if (g.type === 'pen') {
    const events = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [e]
    for (const ev of events.length > 0 ? events : [e]) {
      const [px, py] = pointerAt(ev)
      if (Math.hypot(px - g.last[0], py - g.last[1]) < 1.5) continue
      g.last = [px, py]
      g.buffer.push(Math.round(px - g.ox), Math.round(py - g.oy))
    }
  } else if (g.type === 'shape' || g.type === 'marquee') {
    g.end = [Math.round(x), Math.round(y)]
    if (g.type === 'marquee') overlayDirty = true
  } else if (g.type === 'move') {
    g.to = [Math.round(x), Math.round(y)]
  }
  requestFrame()
})

function endGesture(): void {
  const g = gesture
  if (!g) return
  flushGesture()
  if (g.type === 'marquee') {
    const b = boxFrom(g.start, g.end)
    if (b.x1 - b.x0 > 2 || b.y1 - b.y0 > 2) for (const e of scene.query(b)) if (contains(b, e.box)) ui.selected.add(e.id)
    overlayDirty = true
    sendPresence()
  }
  if (gestureHasWork()) {
    // Throttled at the very end: keep the gesture's last bit and send it shortly.
    const pending = g
    setTimeout(() => {
      if (gesture) return
      gesture = pending
      endGesture()
    }, 50)
  }
  gesture = undefined
  endGroup()
  requestFrame()
}
overlay.addEventListener('pointerup', endGesture)
overlay.addEventListener('pointercancel', endGesture)
overlay.addEventListener('pointerleave', () => {
  ui.cursor = null
  sendPresence()
})

// ---- presence ----------------------------------------------------------------------------
const sendPresence = throttle(33, () => {
  if (!doc || doc.closed) return
  const value: Cursor = { name: me.name, color: me.color, cursor: ui.cursor, tool: ui.tool, sel: [...ui.selected].slice(0, 100) }
  doc.presence.set(value)
})

// ---- paste / copy ------------------------------------------------------------------------
document.addEventListener('copy', (e) => {
  if (isTyping(e.target) || ui.selected.size === 0) return
  const shapes = [...ui.selected].map((id) => scene.entries.get(id)?.shape).filter(Boolean)
  e.clipboardData?.setData('text/plain', JSON.stringify({ zincCanvas: 1, shapes }))
  e.preventDefault()
  toast(`Copied ${shapes.length} shape${shapes.length === 1 ? '' : 's'}`)
})

document.addEventListener('paste', (e) => {
  if (isTyping(e.target)) return
  e.preventDefault()
  pasteText(e.clipboardData?.getData('text/plain') ?? '')
})

/** Pastes shapes copied from a Zinc canvas; refuses oversized or malformed input. */
function pasteText(text: string): number {
  if (text.length > LIMITS.pasteBytes) {
    toast(`Paste refused: ${(text.length / 1e6).toFixed(1)} MB is over the ${LIMITS.pasteBytes / 1e6} MB limit.`, 'warn')
    return 0
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    toast('Nothing to paste: the clipboard holds no Zinc shapes.', 'warn')
    return 0
  }
  const list = (parsed as { shapes?: unknown })?.shapes
  if (!Array.isArray(list)) {
    toast('Nothing to paste: the clipboard holds no Zinc shapes.', 'warn')
    return 0
  }
  if (list.length > LIMITS.pasteShapes) {
    toast(`Paste refused: ${list.length.toLocaleString('en')} shapes is over the limit of ${LIMITS.pasteShapes.toLocaleString('en')}.`, 'warn')
    return 0
  }
  const by = endpoint?.id ?? ''
  const shapes = list.map((s) => cleanShape(s, by)).filter((s): s is Shape => s !== undefined)
  if (shapes.length === 0) {
    toast('Nothing to paste: no valid shapes.', 'warn')
    return 0
  }
  const z = scene.maxZ + 1
  const added = shapes.map((s, i) => [newShapeId(), { ...s, x: clamp(s.x + 20), y: clamp(s.y + 20), z: z + i }] as const)
  groupSize = 0
  if (!change((d) => added.forEach(([id, s]) => keyed.set(d.shapes as never, id, s)))) return 0
  endGroup()
  ui.selected = new Set(added.map(([id]) => id))
  sendPresence()
  return added.length
}

const isTyping = (t: EventTarget | null) => t instanceof HTMLInputElement || t instanceof HTMLSelectElement || t instanceof HTMLTextAreaElement

// ---- keyboard, toolbar -------------------------------------------------------------------
document.addEventListener('keydown', (e) => {
  if (isTyping(e.target)) return
  const mod = e.ctrlKey || e.metaKey
  const k = e.key.toLowerCase()
  if (mod && k === 'z') {
    e.preventDefault()
    if (e.shiftKey) redo()
    else undo()
  } else if (mod && k === 'y') {
    e.preventDefault()
    redo()
  } else if (mod && k === 'a') {
    e.preventDefault()
    ui.selected = new Set(scene.entries.keys())
    overlayDirty = true
    sendPresence()
    requestFrame()
  } else if (!mod && (e.key === 'Delete' || e.key === 'Backspace')) {
    e.preventDefault()
    deleteSelected()
  } else if (e.key === 'Escape') {
    ui.selected.clear()
    overlayDirty = true
    sendPresence()
    requestFrame()
  } else if (!mod) {
    const tool = ({ v: 'select', p: 'pen', r: 'rect', e: 'ellipse', l: 'line' } as Record<string, Tool>)[k]
    if (tool) setTool(tool)
  }
})

function setTool(tool: Tool): void {
  ui.tool = tool
  for (const b of document.querySelectorAll<HTMLButtonElement>('#tools button')) b.setAttribute('aria-pressed', String(b.dataset.tool === tool))
  overlay.classList.toggle('select', tool === 'select')
  sendPresence()
}

function setColor(color: string): void {
  ui.color = color
  for (const b of document.querySelectorAll<HTMLButtonElement>('#colors button')) b.setAttribute('aria-pressed', String(b.dataset.color === color))
}

for (const b of document.querySelectorAll<HTMLButtonElement>('#tools button')) b.addEventListener('click', () => setTool(b.dataset.tool as Tool))
for (const color of COLORS) {
  const b = document.createElement('button')
  b.className = 'swatch'
  b.dataset.color = color
  b.title = color
  b.style.background = color
  b.addEventListener('click', () => setColor(color))
  $('colors').append(b)
}
$<HTMLSelectElement>('width').addEventListener('change', (e) => (ui.width = Number((e.target as HTMLSelectElement).value)))
$<HTMLInputElement>('fill').addEventListener('change', (e) => (ui.fill = (e.target as HTMLInputElement).checked))
$('undo').addEventListener('click', undo)
$('redo').addEventListener('click', redo)
$('delete').addEventListener('click', deleteSelected)
$('stress').addEventListener('click', () => void stress(10_000))
$('offline').addEventListener('click', () => setOffline(!net.offline))
const nameInput = $<HTMLInputElement>('name')
nameInput.value = me.name
nameInput.addEventListener('input', () => {
  me.name = nameInput.value.trim().slice(0, LIMITS.nameLength) || 'Anonymous'
  sessionStorage.setItem('zinc-name', me.name)
  sendPresence()
})
nameInput.style.borderColor = me.color

function setOffline(offline: boolean): void {
  net.setOffline(offline)
  const b = $('offline')
  b.setAttribute('aria-pressed', String(offline))
  b.textContent = offline ? '⚡ Go online' : '⚡ Go offline'
  statusDirty = true
  requestFrame()
}

// ---- stress and measurements -------------------------------------------------------------
/** Adds `count` random shapes, 1,000 per change (one change per frame). */
async function stress(count: number): Promise<void> {
  if (!doc) return
  const view = renderer.view
  const w = Math.max(400, view.x1)
  const h = Math.max(300, view.y1)
  const started = performance.now()
  let z = scene.maxZ + 1
  for (let done = 0; done < count; ) {
    const n = Math.min(1000, count - done)
    const batch: Array<[string, Shape]> = []
    for (let i = 0; i < n; i++) {
      const kind = (['rect', 'ellipse', 'line', 'stroke'] as const)[Math.floor(Math.random() * 4)]!
      const x = Math.round(Math.random() * (w - 40))
      const y = Math.round(Math.random() * (h - 40))
      const a = Math.round(8 + Math.random() * 32)
      const b = Math.round(8 + Math.random() * 32)
      const pts = kind === 'stroke' ? [0, 0, a / 2, b, a, b / 3, a * 0.8, 0] : [0, 0, a, b]
      batch.push([newShapeId(), { kind, x, y, pts, color: COLORS[Math.floor(Math.random() * COLORS.length)]!, width: 1 + Math.floor(Math.random() * 3), fill: Math.random() < 0.3, z: z++, by: endpoint?.id ?? '' }])
    }
    await nextFrame()
    groupSize = 0
    if (!change((d) => batch.forEach(([id, s]) => keyed.set(d.shapes as never, id, s)))) {
      await sleep(100)
      continue
    }
    endGroup()
    done += n
  }
  console.log(`[zinc canvas] stress: added ${count.toLocaleString('en')} shapes in ${(performance.now() - started).toFixed(0)} ms; ${scene.entries.size.toLocaleString('en')} shapes now`)
  toast(`Added ${count.toLocaleString('en')} shapes`)
}

/**
 * Measures `samples` local changes at the current size: one shape moved per frame,
 * performance.now around doc.change + render. Prints a summary.
 */
async function measureLocal(samples = 30): Promise<ReturnType<typeof summary>> {
  const ids = [...scene.entries.keys()]
  if (!doc || ids.length === 0) return { n: 0 }
  const times: number[] = []
  for (let i = 0; i < samples; i++) {
    await nextFrame()
    const id = ids[Math.floor(Math.random() * ids.length)]!
    const t0 = performance.now()
    const f = doc.change((d) => {
      const s = keyed.draftOf(d.shapes, id) as Shape | undefined
      if (s) s.x += i % 2 === 0 ? 3 : -3
    })
    if (f) groupSize++
    renderNow()
    const ms = performance.now() - t0
    times.push(ms)
    keep(perf.local, ms)
  }
  endGroup()
  const s = summary(times)
  console.log(`[zinc perf] local change + render at ${scene.entries.size.toLocaleString('en')} shapes: ${JSON.stringify(s)} ms`)
  return s
}

const nextFrame = () => new Promise<number>((r) => requestAnimationFrame(r))
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A digest of the drawing, equal on two replicas exactly when their shapes are equal. */
function digest(): { count: number; hash: string } {
  if (!doc) return { count: 0, hash: '' }
  const all = [...keyed.entries(doc.state.shapes)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  let h = 0x811c9dc5
  const text = all.map(([id, s]) => `${id}|${s.kind}|${s.x}|${s.y}|${s.z}|${s.color}|${s.width}|${s.fill}|${s.pts.join(',')}`).join('\n')
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return { count: all.length, hash: `${all.length}:${(h >>> 0).toString(16)}` }
}

// ---- start -------------------------------------------------------------------------------
let endpoint: Endpoint | undefined

async function connect(): Promise<void> {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:'
  const join = { inbound: `${proto}//${location.host}${PATHS.inbound}`, outbound: `${proto}//${location.host}${PATHS.outbound}` }
  transport.on('state', ({ address, kind, state }) => {
    channelStates.set(`${kind} ${address}`, state)
    statusDirty = true
    requestFrame()
  })
  for (let attempt = 1; ; attempt++) {
    try {
      endpoint = await Endpoint.start({ transport, join, joinTimeoutMs: 10_000 })
      break
    } catch (error) {
      console.warn(`[zinc canvas] could not join (${(error as Error).message}); retrying`)
      toast(`Cannot reach the server yet (${(error as Error).message}); retrying…`, 'warn')
      await sleep(Math.min(5000, 500 * attempt))
    }
  }
  const ep = endpoint
  role = ep.role
  peers = ep.peers.length
  ep.on('role', (r) => ((role = r), (statusDirty = true), requestFrame()))
  ep.on('peers', (p) => ((peers = p.length), (statusDirty = true), requestFrame()))
  ep.on('parent-lost', () => ((parentLost = true), (parentLostAt = performance.now()), (statusDirty = true), requestFrame()))
  ep.on('parent-back', () => ((parentLost = false), (statusDirty = true), requestFrame()))
  ep.on('error', (error) => toast(error.message, 'warn'))

  const d = await ep.open<Canvas>(DOC_ID, { initial: { shapes: keyed.empty<Shape>() }, timeoutMs: 30_000 })
  doc = d
  d.subscribe((_state, fragment, batch) => {
    const remote = fragment ? !fragment.local : batch.length === 0 || batch.some((f) => !f.local)
    if (remote) {
      const at = performance.now()
      if (net.lastMessageAt > 0 && fragment && !fragment.local) keep(perf.remoteZinc, at - net.lastMessageAt)
      pendingRemote = { callbackAt: at }
    }
    statusDirty = true
    requestFrame()
  })
  d.presence.subscribe(() => {
    overlayDirty = true
    statusDirty = true
    requestFrame()
  })
  d.onRejected((error) => toast(`A change was refused: ${error.message}`, 'warn'))
  sendPresence()
  requestFrame()
  console.log(`[zinc canvas] joined as ${ep.id.slice(0, 8)} (${ep.role}); document "${DOC_ID}" at seq ${d.seq}`)
  window.addEventListener('pagehide', () => void ep.close())

  const stressParam = Number(params.get('stress'))
  if (stressParam > 0) {
    await stress(Math.min(100_000, Math.floor(stressParam)))
    await measureLocal(30)
  }
}

window.addEventListener('resize', resize)
// seq, pending and the connection also move without events of their own: refresh twice a second.
setInterval(() => {
  statusDirty = true
  requestFrame()
}, 500)
setTool('pen')
setColor(COLORS[0])
resize()

// A hook for tests and for poking around in the console.
Object.assign(window, {
  __zinc: {
    get endpoint() {
      return endpoint
    },
    get doc() {
      return doc
    },
    transport,
    net,
    ready: false,
    seq: () => doc?.seq ?? 0,
    pending: () => doc?.pendingCount ?? 0,
    shapeCount: () => (doc ? keyed.size(doc.state.shapes) : 0),
    drawnCount: () => scene.entries.size,
    digest,
    connection,
    connectionDetail: () => ({ channels: Object.fromEntries(channelStates), parentLost, offline: net.offline }),
    setOffline,
    presence: () => (doc ? [...doc.presence.get()].map(([id, v]) => ({ id, ...(v as object) })) : []),
    stress,
    measureLocal,
    perf: perfReport,
    resetPerf: () => {
      for (const xs of Object.values(perf)) xs.length = 0
    },
    pasteText,
    undo,
    redo,
    setTool,
    me,
  },
})

connect().then(
  () => ((window as unknown as { __zinc: { ready: boolean } }).__zinc.ready = true),
  (error: unknown) => {
    failed = (error as Error).message
    console.error('[zinc canvas] failed:', error)
    toast(`Could not open the canvas: ${failed}`, 'warn')
    statusDirty = true
    requestFrame()
  },
)
