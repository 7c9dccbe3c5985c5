/**
 * The Zinc canvas page. The Zinc part comes first — it is what an app copies:
 *
 *  1. connect: this tab is a leaf Endpoint on the WebSocket transport, joined to the server's
 *     edge relay (which binds its channels on the page's own port). It keeps its documents in
 *     IndexedDB (@zinc/storage-idb), so a reload — offline too — shows its work at once, and
 *     what it made offline is sent exactly once when it is back;
 *  2. open the board's document, subscribe to it, share presence;
 *  3. every edit is a plain `doc.change` (`app.change` in app.ts adds a rate limit and undo
 *     groups): gestures.ts (drawing), notes.ts (text), layers.ts (a reorderable list);
 *  4. a hook for tests and measurements (test-hook.ts).
 */
import { Endpoint, JoinRefusedError, keyed, TimeoutError, type Document, type EndpointAddresses } from '@zinc/core'
import { IdbLeafStorage } from '@zinc/storage-idb'
import { WsClientTransport } from '@zinc/transport-ws/browser'
import { App } from './app.js'
import { Clipboard } from './clipboard.js'
import { Gestures } from './gestures.js'
import { LayersPanel } from './layers.js'
import { DEFAULT_LAYERS, friendlyColor, friendlyName, type Canvas, type Shape } from './model.js'
import { netSwitch } from './net.js'
import { NoteEditor } from './notes.js'
import { measureLocal, stress, stressBoard } from './perf.js'
import { Status } from './status.js'
import { installTestHook } from './test-hook.js'
import { openBoard, Toolbar } from './toolbar.js'
import { Perf, View } from './view.js'

// ---- 1. connect ----------------------------------------------------------------------------
/** The server binds the edge relay's WebSocket channels on these paths of the page's own port. */
const PATHS = { inbound: '/zinc/in', outbound: '/zinc/out' }
const net = netSwitch()
/** Retries every 250 ms growing to 1 s while the server is away (net.ts keeps them quiet). */
const transport = new WsClientTransport({ WebSocket: net.WebSocket, reconnectIntervalMs: 250, reconnectMaxMs: 1000 })

function joinAddresses(): EndpointAddresses {
  const ws = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return { inbound: `${ws}//${location.host}${PATHS.inbound}`, outbound: `${ws}//${location.host}${PATHS.outbound}` }
}

/** A server started with a token (ZINC_TOKEN) admits tabs opened with `?token=` (the join token). */
const token = new URLSearchParams(location.search).get('token') ?? undefined

/**
 * Starts this tab's endpoint on its local store: it does not wait for the server (the join goes
 * on in the background, retried while the server is away; the banner says so). A store that
 * is damaged or not ours is cleared: the tab starts fresh and says so (never a blank page).
 */
async function join(): Promise<{ endpoint: Endpoint; leafStorage: IdbLeafStorage }> {
  const leafStorage = await IdbLeafStorage.open({ name: 'zinc-canvas' })
  for (const warning of leafStorage.warnings) status.notice(warning)
  const endpoint = await Endpoint.start({ transport, join: joinAddresses(), joinTimeoutMs: 10_000, leafStorage, waitForParent: false, ...(token ? { token } : {}) })
  // Refused (a wrong or missing ?token=): retrying will not help; the status bar says why.
  endpoint.on('error', (error) => {
    if (!(error instanceof JoinRefusedError)) return
    status.failed = error.message
    app.dirty.status = true
    app.requestFrame()
  })
  return { endpoint, leafStorage }
}

// ---- 2. open the board ---------------------------------------------------------------------
const params = new URLSearchParams(location.search)
const board = (params.get('board') || 'main').slice(0, 64)
const stressCount = Math.min(100_000, Math.floor(Number(params.get('stress')) || 0))
// Stress data never lands on a board people draw on.
const redirecting = stressCount > 0 && !board.startsWith('stress-')
if (redirecting) openBoard(stressBoard(), { stress: String(stressCount) })

async function open(endpoint: Endpoint, leafStorage: IdbLeafStorage): Promise<Document<Canvas>> {
  // `initial` seeds a new board only; an existing one comes from the root as it is. A board
  // this tab kept opens at once; a new one waits for the server (retried while it is away).
  let doc: Document<Canvas> | undefined
  while (!doc) {
    try {
      doc = await endpoint.open<Canvas>(`canvas/${board}`, { initial: { shapes: keyed.empty<Shape>(), layers: DEFAULT_LAYERS.map((l) => ({ ...l })) }, timeoutMs: 30_000 })
    } catch (error) {
      if (!(error instanceof TimeoutError)) throw error
    }
  }
  doc.subscribe((_state, fragment, batch) => {
    const remote = fragment ? !fragment.local : batch.length === 0 || batch.some((f) => !f.local)
    if (remote) {
      if (net.lastMessageAt > 0 && fragment && !fragment.local) Perf.keep(view.perf.remoteZinc, performance.now() - net.lastMessageAt)
      view.remotePending = true
      notes.sync()
    }
    app.dirty.status = true
    app.requestFrame()
  })
  doc.presence.subscribe(() => {
    app.dirty.overlay = true
    app.dirty.status = true
    app.requestFrame()
  })
  doc.onRejected((error) => status.toast(`A change was refused: ${error.message}`, 'warn'))
  // Changes not yet confirmed are kept in IndexedDB; only where it is unusable do they live
  // in this tab alone: then say so before it goes.
  const kept = doc
  window.addEventListener('beforeunload', (e) => {
    if (kept.pendingCount === 0 || leafStorage.persistent) return
    e.preventDefault()
    e.returnValue = ''
  })
  return doc
}

async function connect(): Promise<void> {
  const { endpoint, leafStorage } = await join()
  app.endpoint = endpoint
  app.leafStorage = leafStorage
  status.follow(endpoint)
  app.doc = await open(endpoint, leafStorage)
  layers.ensure()
  view.sendPresence()
  app.requestFrame()
  console.log(`[zinc canvas] tab ${endpoint.id.slice(0, 8)} (${endpoint.connected ? endpoint.role : 'not joined yet'}); board "${board}" at seq ${app.doc.seq}`)
  // The store is let go last: its identity is this tab's until the page is gone.
  window.addEventListener('pagehide', () => void endpoint.close().then(() => leafStorage.close()))
  if (stressCount > 0 && board.startsWith('stress-')) {
    await stress(app, stressCount)
    await measureLocal(app, view, 30)
  }
}

// ---- 3. the page around it -----------------------------------------------------------------
const me = { name: sessionStorage.getItem('zinc-name') || friendlyName(), color: sessionStorage.getItem('zinc-color') || friendlyColor() }
sessionStorage.setItem('zinc-name', me.name)
sessionStorage.setItem('zinc-color', me.color)

const app = new App(board, (message, kind) => status.toast(message, kind))
const status = new Status(app, net)
const view = new View(app, me)
const notes = new NoteEditor(app)
const layers = new LayersPanel(app)
const gestures = new Gestures(app, view, notes)
const selectionChanged = () => {
  app.dirty.overlay = true
  app.dirty.status = true
  view.sendPresence()
  app.requestFrame()
}
const clipboard = new Clipboard(app, selectionChanged)
const undo = () => void (!gestures.active && app.step('undo'))
const redo = () => void (!gestures.active && app.step('redo'))
const deleteSelected = () => {
  const ids = [...app.ui.selected]
  if (ids.length === 0) return
  app.beginGroup()
  app.change((d) => ids.forEach((id) => keyed.delete(d.shapes, id)))
  app.endGroup()
  app.ui.selected.clear()
  selectionChanged()
}
const toolbar = new Toolbar(app, net, me, { undo, redo, deleteSelected, selectionChanged, presenceChanged: () => view.sendPresence() })
// "Go offline" lasts across a reload of this tab (so a reload can be tried offline).
if (sessionStorage.getItem('zinc-offline') === '1') toolbar.setOffline(true)

app.onFrame(() => {
  const t0 = performance.now()
  gestures.flush()
  view.frame(t0)
  layers.update()
  if (app.dirty.status) {
    app.dirty.status = false
    status.update(view)
  }
  if (gestures.hasWork) app.requestFrame()
})
// seq, pending and the connection also move without events of their own: refresh twice a second.
setInterval(() => {
  app.dirty.status = true
  app.requestFrame()
}, 500)
view.resize()

// ---- 4. the test hook ----------------------------------------------------------------------
const hook = installTestHook({ app, view, status, net, transport, notes, layers, clipboard, toolbar, me, undo, redo })
if (!redirecting)
  connect().then(
    () => (hook.ready = true),
    (error: unknown) => {
      status.failed = (error as Error).message
      console.error('[zinc canvas] failed:', error)
      status.toast(`Could not open the canvas: ${status.failed}`, 'warn')
      app.dirty.status = true
      app.requestFrame()
    },
  )
