/** Copy and paste of shapes, with limits on what a paste may bring in. */
import { keyed } from '@zinc/core'
import type { App } from './app.js'
import { cleanShape, LIMITS, newShapeId, type Shape } from './model.js'

export const isTyping = (t: EventTarget | null) => t instanceof HTMLInputElement || t instanceof HTMLSelectElement || t instanceof HTMLTextAreaElement

const clamp = (v: number) => Math.max(-LIMITS.coord, Math.min(LIMITS.coord, v))

export class Clipboard {
  constructor(
    readonly app: App,
    readonly onSelect: () => void,
  ) {
    document.addEventListener('copy', (e) => {
      if (isTyping(e.target) || app.ui.selected.size === 0) return
      const shapes = [...app.ui.selected].map((id) => app.scene.entries.get(id)?.shape).filter(Boolean)
      e.clipboardData?.setData('text/plain', JSON.stringify({ zincCanvas: 1, shapes }))
      e.preventDefault()
      app.notify(`Copied ${shapes.length} shape${shapes.length === 1 ? '' : 's'}`)
    })
    document.addEventListener('paste', (e) => {
      if (isTyping(e.target)) return
      e.preventDefault()
      this.paste(e.clipboardData?.getData('text/plain') ?? '')
    })
  }

  /** Pastes shapes copied from a Zinc canvas; refuses oversized or malformed input. Returns how many. */
  paste(text: string): number {
    const { app } = this
    if (text.length > LIMITS.pasteBytes) {
      app.notify(`Paste refused: ${(text.length / 1e6).toFixed(1)} MB is over the ${LIMITS.pasteBytes / 1e6} MB limit.`, 'warn')
      return 0
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      app.notify('Nothing to paste: the clipboard holds no Zinc shapes.', 'warn')
      return 0
    }
    const list = (parsed as { shapes?: unknown } | null)?.shapes
    if (!Array.isArray(list)) {
      app.notify('Nothing to paste: the clipboard holds no Zinc shapes.', 'warn')
      return 0
    }
    if (list.length > LIMITS.pasteShapes) {
      app.notify(`Paste refused: ${list.length.toLocaleString('en')} shapes is over the limit of ${LIMITS.pasteShapes.toLocaleString('en')}.`, 'warn')
      return 0
    }
    const by = app.endpoint?.id ?? ''
    const shapes = list.map((s) => cleanShape(s, by)).filter((s): s is Shape => s !== undefined)
    if (shapes.length === 0) {
      app.notify('Nothing to paste: no valid shapes.', 'warn')
      return 0
    }
    const z = app.nextZ()
    const added = shapes.map((s, i) => [newShapeId(), { ...s, x: clamp(s.x + 20), y: clamp(s.y + 20), z: z + i, layer: app.ui.layer }] as const)
    app.beginGroup()
    if (!app.change((d) => added.forEach(([id, s]) => keyed.set(d.shapes, id, s)))) return 0
    app.endGroup()
    app.ui.selected = new Set(added.map(([id]) => id))
    this.onSelect()
    return added.length
  }
}
