/**
 * The layers panel: the document's `layers` list, top layer first. Reordering is a plain array
 * move in `doc.change` (splice out, splice in), which Zinc records as a list move, so two people
 * reordering at once each see their move kept. Renaming assigns the new name (a text edit).
 */
import type { Draft } from '@zinc/core'
import { $, type App } from './app.js'
import { cleanLayers, DEFAULT_LAYERS, LIMITS, type Canvas, type Layer } from './model.js'

/** Moves the layer `id` by `delta` places in the list (+1 = up, towards the top). */
export function moveLayer(d: Draft<Canvas>, id: string, delta: number): void {
  const layers = d.layers
  if (!layers) return
  const from = layers.findIndex((l) => l.id === id)
  const to = from + delta
  if (from < 0 || to < 0 || to >= layers.length) return
  const [layer] = layers.splice(from, 1)
  layers.splice(to, 0, layer!)
}

export class LayersPanel {
  readonly #list: HTMLOListElement
  #shown: readonly unknown[] | undefined

  constructor(readonly app: App) {
    this.#list = $<HTMLOListElement>('layer-list')
    $('layer-add').addEventListener('click', () => this.add())
    // On a phone the panel would cover most of the drawing: it starts closed there.
    if (window.innerWidth < 700) {
      $('layers').hidden = true
      $('layers-toggle').setAttribute('aria-pressed', 'false')
    }
    $('layers-toggle').addEventListener('click', () => {
      const panel = $('layers')
      panel.hidden = !panel.hidden
      $('layers-toggle').setAttribute('aria-pressed', String(!panel.hidden))
    })
  }

  /** The layers as this page trusts them (others may send anything). */
  layers(): Layer[] {
    return cleanLayers(this.app.doc?.state.layers)
  }

  /** Adds the list to a board made before layers existed. */
  ensure(): void {
    const doc = this.app.doc
    if (doc && !Array.isArray(doc.state.layers)) this.app.change((d) => void (d.layers = DEFAULT_LAYERS.map((l) => ({ ...l }))))
  }

  move(id: string, delta: number): boolean {
    const done = this.app.change((d) => moveLayer(d, id, delta))
    this.app.endGroup()
    return done !== false
  }

  add(): void {
    const n = this.layers().length
    if (n >= LIMITS.layers) return this.app.notify(`A board has at most ${LIMITS.layers} layers.`, 'warn')
    const id = `l${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
    if (this.app.change((d) => void (d.layers ??= []).push({ id, name: `Layer ${n + 1}` }))) this.app.ui.layer = id
    this.app.endGroup()
  }

  rename(id: string, name: string): void {
    this.app.change((d) => {
      const layer = d.layers?.find((l) => l.id === id)
      if (layer) layer.name = name.slice(0, LIMITS.layerName)
    })
  }

  /** Redraws the list when the document's layers changed (called from the frame). */
  update(): void {
    const raw = this.app.doc?.state.layers
    if (raw === this.#shown && !this.app.dirty.layers) return
    this.#shown = raw
    this.app.dirty.layers = false
    const layers = this.layers()
    if (!layers.some((l) => l.id === this.app.ui.layer) && layers.length > 0) this.app.ui.layer = layers[layers.length - 1]!.id
    const focused = document.activeElement instanceof HTMLInputElement && this.#list.contains(document.activeElement) ? document.activeElement.dataset.id : undefined
    const rows = [...layers].reverse().map((layer, i) => {
      const li = document.createElement('li')
      li.dataset.id = layer.id
      li.classList.toggle('active', layer.id === this.app.ui.layer)
      const pick = document.createElement('input')
      pick.type = 'radio'
      pick.name = 'layer'
      pick.checked = layer.id === this.app.ui.layer
      pick.title = 'Draw on this layer'
      pick.addEventListener('change', () => {
        this.app.ui.layer = layer.id
        this.app.dirty.layers = true
        this.app.requestFrame()
      })
      const name = document.createElement('input')
      name.className = 'layer-name'
      name.value = layer.name
      name.dataset.id = layer.id
      name.maxLength = LIMITS.layerName
      name.addEventListener('input', () => this.rename(layer.id, name.value))
      name.addEventListener('blur', () => this.app.endGroup())
      const up = button('Up', 'Move this layer up (drawn above the next one)', i === 0, () => this.move(layer.id, +1))
      const down = button('Down', 'Move this layer down', i === layers.length - 1, () => this.move(layer.id, -1))
      li.append(pick, name, up, down)
      return li
    })
    this.#list.replaceChildren(...rows)
    if (focused) (this.#list.querySelector(`input.layer-name[data-id="${CSS.escape(focused)}"]`) as HTMLInputElement | null)?.focus()
  }
}

function button(label: string, title: string, disabled: boolean, onClick: () => void): HTMLButtonElement {
  const b = document.createElement('button')
  b.textContent = label
  b.title = title
  b.disabled = disabled
  b.addEventListener('click', onClick)
  return b
}
