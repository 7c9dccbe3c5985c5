/** The toolbar, the board menu and the keyboard shortcuts. */
import { keyed } from '@zinc/core'
import { $, type App, type Tool } from './app.js'
import { isTyping } from './clipboard.js'
import { COLORS, LIMITS } from './model.js'
import type { NetSwitch } from './net.js'
import { stressBoard } from './perf.js'
import type { Me } from './view.js'

export interface ToolbarHooks {
  undo(): void
  redo(): void
  deleteSelected(): void
  selectionChanged(): void
  presenceChanged(): void
}

/** Opens another board in this tab (`?board=name`). */
export function openBoard(name: string, extra: Record<string, string> = {}): void {
  const url = new URL(location.href)
  const token = url.searchParams.get('token')
  url.search = new URLSearchParams({ board: name, ...(token ? { token } : {}), ...extra }).toString()
  location.assign(url)
}

export class Toolbar {
  constructor(
    readonly app: App,
    readonly net: NetSwitch,
    readonly me: Me,
    readonly hooks: ToolbarHooks,
  ) {
    for (const b of document.querySelectorAll<HTMLButtonElement>('#tools button')) b.addEventListener('click', () => this.setTool(b.dataset.tool as Tool))
    for (const color of COLORS) {
      const b = document.createElement('button')
      b.className = 'swatch'
      b.dataset.color = color
      b.title = color
      b.setAttribute('aria-label', `colour ${color}`)
      b.style.background = color
      b.addEventListener('click', () => this.setColor(color))
      $('colors').append(b)
    }
    $<HTMLSelectElement>('width').addEventListener('change', (e) => (app.ui.width = Number((e.target as HTMLSelectElement).value)))
    $<HTMLInputElement>('fill').addEventListener('change', (e) => (app.ui.fill = (e.target as HTMLInputElement).checked))
    $('undo').addEventListener('click', hooks.undo)
    $('redo').addEventListener('click', hooks.redo)
    $('delete').addEventListener('click', hooks.deleteSelected)
    $('new-board').addEventListener('click', () => openBoard(`board-${Math.random().toString(36).slice(2, 8)}`))
    $('clear-board').addEventListener('click', () => this.clearBoard())
    $('stress').addEventListener('click', () => openBoard(stressBoard(), { stress: '10000' }))
    $('offline').addEventListener('click', () => this.setOffline(!net.offline))
    const nameInput = $<HTMLInputElement>('name')
    nameInput.value = me.name
    nameInput.style.borderColor = me.color
    nameInput.addEventListener('input', () => {
      me.name = nameInput.value.trim().slice(0, LIMITS.nameLength) || 'Anonymous'
      sessionStorage.setItem('zinc-name', me.name)
      hooks.presenceChanged()
    })
    document.addEventListener('keydown', (e) => this.#key(e))
    this.setTool('pen')
    this.setColor(COLORS[0])
  }

  setTool(tool: Tool): void {
    this.app.ui.tool = tool
    for (const b of document.querySelectorAll<HTMLButtonElement>('#tools button')) b.setAttribute('aria-pressed', String(b.dataset.tool === tool))
    this.app.overlay.classList.toggle('select', tool === 'select')
    this.hooks.presenceChanged()
  }

  setColor(color: string): void {
    this.app.ui.color = color
    for (const b of document.querySelectorAll<HTMLButtonElement>('#colors button')) b.setAttribute('aria-pressed', String(b.dataset.color === color))
  }

  setOffline(offline: boolean): void {
    this.net.setOffline(offline)
    sessionStorage.setItem('zinc-offline', offline ? '1' : '')
    const b = $('offline')
    b.setAttribute('aria-pressed', String(offline))
    b.textContent = offline ? 'Go online' : 'Go offline'
    this.app.dirty.status = true
    this.app.requestFrame()
  }

  /** Removes every shape, as one undoable change (Ctrl-Z brings them back). */
  clearBoard(ask = true): number {
    const doc = this.app.doc
    if (!doc) return 0
    const ids = [...keyed.entries(doc.state.shapes)].map(([id]) => id)
    if (ids.length === 0) return 0
    if (ask && !confirm(`Clear board "${this.app.board}" for everyone? ${ids.length.toLocaleString('en')} shapes will be removed (Undo brings them back).`)) return 0
    this.app.beginGroup()
    const done = this.app.change((d) => ids.forEach((id) => keyed.delete(d.shapes, id)))
    this.app.endGroup()
    this.app.ui.selected.clear()
    this.hooks.selectionChanged()
    if (done) this.app.notify(`Cleared ${ids.length.toLocaleString('en')} shapes. Undo brings them back.`)
    return done ? ids.length : 0
  }

  #key(e: KeyboardEvent): void {
    if (isTyping(e.target)) return
    const { app, hooks } = this
    const mod = e.ctrlKey || e.metaKey
    const k = e.key.toLowerCase()
    if (mod && k === 'z') {
      e.preventDefault()
      if (e.shiftKey) hooks.redo()
      else hooks.undo()
    } else if (mod && k === 'y') {
      e.preventDefault()
      hooks.redo()
    } else if (mod && k === 'a') {
      e.preventDefault()
      app.ui.selected = new Set(app.scene.entries.keys())
      hooks.selectionChanged()
    } else if (!mod && (e.key === 'Delete' || e.key === 'Backspace')) {
      e.preventDefault()
      hooks.deleteSelected()
    } else if (e.key === 'Escape') {
      app.ui.selected.clear()
      hooks.selectionChanged()
    } else if (!mod) {
      const tool = ({ v: 'select', p: 'pen', r: 'rect', e: 'ellipse', l: 'line', n: 'note' } as Record<string, Tool>)[k]
      if (tool) this.setTool(tool)
    }
  }
}
