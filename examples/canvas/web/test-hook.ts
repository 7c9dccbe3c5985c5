/**
 * `window.__zinc`: a hook for the e2e test and for poking around in the console. Everything the
 * test asserts goes through here (what the document holds, what is drawn, the connection).
 */
import { keyed } from '@zinc/core'
import type { WsClientTransport } from '@zinc/transport-ws/browser'
import type { App, Tool } from './app.js'
import type { Clipboard } from './clipboard.js'
import type { LayersPanel } from './layers.js'
import type { NetSwitch } from './net.js'
import type { NoteEditor } from './notes.js'
import { digest, measureLocal, stress } from './perf.js'
import type { Status } from './status.js'
import type { Toolbar } from './toolbar.js'
import { summary, type Me, type View } from './view.js'

export interface HookParts {
  app: App
  view: View
  status: Status
  net: NetSwitch
  transport: WsClientTransport
  notes: NoteEditor
  layers: LayersPanel
  clipboard: Clipboard
  toolbar: Toolbar
  me: Me
  undo(): void
  redo(): void
}

export function installTestHook(p: HookParts): { ready: boolean } {
  const { app, view } = p
  const hook = {
    ready: false,
    get endpoint() {
      return app.endpoint
    },
    get doc() {
      return app.doc
    },
    transport: p.transport,
    net: p.net,
    me: p.me,
    seq: () => app.doc?.seq ?? 0,
    pending: () => app.doc?.pendingCount ?? 0,
    /** Pending changes as kept in IndexedDB (-1: nothing kept yet), and this tab's identity there. */
    keptPending: async () => (app.doc && app.leafStorage ? ((await app.leafStorage.load(app.doc.id))?.record.pending.length ?? -1) : -1),
    notice: () => {
      const el = document.getElementById('notice')!
      return el.hidden ? '' : (document.getElementById('notice-text')!.textContent ?? '')
    },
    shapeCount: () => (app.doc ? keyed.size(app.doc.state.shapes) : 0),
    drawnCount: () => app.scene.entries.size,
    digest: () => digest(app),
    connection: () => p.status.connection(),
    banner: () => {
      const el = document.getElementById('banner')!
      return el.hidden ? '' : (el.textContent ?? '')
    },
    setOffline: (offline: boolean) => p.toolbar.setOffline(offline),
    presence: () => (app.doc ? [...app.doc.presence.get()].map(([id, v]) => ({ id, ...(v as object) })) : []),
    stress: (n: number) => stress(app, n),
    measureLocal: (n?: number) => measureLocal(app, view, n),
    perf: () => ({ shapes: app.scene.entries.size, local: summary(view.perf.local), remote: summary(view.perf.remote), remoteZinc: summary(view.perf.remoteZinc), frame: summary(view.perf.frames) }),
    resetPerf: () => view.perf.reset(),
    pasteText: (text: string) => p.clipboard.paste(text),
    clearBoard: () => p.toolbar.clearBoard(false),
    undo: p.undo,
    redo: p.redo,
    setTool: (tool: Tool) => p.toolbar.setTool(tool),
    /** Notes: ids and texts, and which one this tab is typing in. */
    notes: () => (app.doc ? [...keyed.entries(app.doc.state.shapes)].filter(([, s]) => s.kind === 'note').map(([id, s]) => ({ id, text: s.text ?? '', x: s.x, y: s.y })) : []),
    openNote: (id: string) => p.notes.open(id),
    editingNote: () => p.notes.openId,
    /** Layers, top first (as the panel shows them). */
    layers: () =>
      p.layers
        .layers()
        .map((l) => l.name)
        .reverse(),
    layerIds: () =>
      p.layers
        .layers()
        .map((l) => l.id)
        .reverse(),
    moveLayer: (id: string, delta: number) => p.layers.move(id, delta),
  }
  Object.assign(window, { __zinc: hook })
  return hook
}
