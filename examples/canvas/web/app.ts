/**
 * The page's state around the Zinc document: what is drawn, what this person has selected, and
 * the one place every edit goes through — `app.change(recipe)`, a plain `doc.change` with the
 * tab's rate limit and the current gesture's undo group.
 */
import type { Document, DocumentFragment, Draft, Endpoint, LeafStorage } from '@zinc/core'
import { TokenBucket } from './limiter.js'
import { COLORS, LIMITS, type Canvas } from './model.js'
import { Renderer } from './render.js'
import { Scene } from './scene.js'

export type Tool = 'select' | 'pen' | 'rect' | 'ellipse' | 'line' | 'note'

/** A recipe for `doc.change`: it mutates the draft of the canvas and returns nothing. */
export type Recipe = (draft: Draft<Canvas>) => void

export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T

export class App {
  /** Set once the tab has joined and opened the board. */
  endpoint: Endpoint | undefined
  /** This tab's local store (IndexedDB): what a reload shows at once. */
  leafStorage: LeafStorage | undefined
  doc: Document<Canvas> | undefined

  readonly scene = new Scene()
  readonly renderer: Renderer
  readonly overlay: HTMLCanvasElement
  readonly ui = {
    tool: 'pen' as Tool,
    color: COLORS[0] as string,
    width: 4,
    fill: false,
    /** The layer new shapes go on. */
    layer: 'l1',
    selected: new Set<string>(),
    cursor: null as [number, number] | null,
  }

  /** What needs doing at the next animation frame. */
  readonly dirty = { overlay: true, status: true, full: true, layers: true }
  readonly #limiter = new TokenBucket(LIMITS.changesPerSecond, LIMITS.changeBurst)
  #frameRequested = false
  readonly #frameHooks: Array<() => void> = []

  /** The current gesture's undo group: one Ctrl-Z undoes the whole gesture. */
  #group = 0
  #groupSize = 0

  constructor(
    readonly board: string,
    /** Tells the person something (the page's toast). */
    readonly notify: (message: string, kind?: 'info' | 'warn') => void,
  ) {
    this.overlay = $<HTMLCanvasElement>('overlay')
    this.renderer = new Renderer($<HTMLCanvasElement>('base'), this.scene)
  }

  /** Runs `hook` at every animation frame this app draws (gestures flush here). */
  onFrame(hook: () => void): void {
    this.#frameHooks.push(hook)
  }

  requestFrame(): void {
    if (this.#frameRequested) return
    this.#frameRequested = true
    requestAnimationFrame(() => {
      this.#frameRequested = false
      for (const hook of this.#frameHooks) hook()
    })
  }

  /**
   * One `doc.change` through the tab's rate limit, in the current undo group. Returns the
   * fragment, or false when throttled, refused, or when the recipe changed nothing.
   */
  change(recipe: Recipe, cost = 1): DocumentFragment | false {
    const doc = this.doc
    if (!doc) return false
    if (!this.#limiter.take(cost)) {
      this.#throttled()
      return false
    }
    try {
      const fragment = doc.change(recipe, { undoGroup: `${this.board}:${this.#group}` })
      if (!fragment) return false
      this.#groupSize++
      this.requestFrame()
      return fragment
    } catch (error) {
      this.notify(`That change could not be made: ${(error as Error).message}`, 'warn')
      return false
    }
  }

  /** Starts a new undo group for the next change (a new gesture). */
  beginGroup(): void {
    this.#groupSize = 0
  }

  /** Closes the current gesture's undo group. */
  endGroup(): void {
    if (this.#groupSize === 0) return
    this.#group++
    this.#groupSize = 0
    this.dirty.status = true
  }

  /** Undo or redo through the rate limit; false when nothing happened. */
  step(which: 'undo' | 'redo'): boolean {
    const doc = this.doc
    if (!doc) return false
    if (!this.#limiter.take(1)) {
      this.#throttled()
      return false
    }
    this.endGroup()
    const done = which === 'undo' ? doc.undo() : doc.redo()
    this.dirty.status = true
    this.requestFrame()
    return done
  }

  /** The z of a shape put on top now. */
  nextZ(): number {
    return this.scene.maxZ + 1
  }

  #lastThrottle = 0
  #throttled(): void {
    const now = performance.now()
    if (now - this.#lastThrottle < 2000) return
    this.#lastThrottle = now
    console.warn(`[zinc canvas] throttled: more than ${LIMITS.changesPerSecond} changes a second from this tab`)
    this.notify(`Slow down: this tab is limited to ${LIMITS.changesPerSecond} changes a second. Drawing continues as soon as it can.`, 'warn')
  }
}
