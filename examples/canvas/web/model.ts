/** The shared document of the canvas, and checks of what arrives from others. */
import type { Keyed } from '@zinc/core'

export type ShapeKind = 'stroke' | 'rect' | 'ellipse' | 'line' | 'note'

/**
 * One shape. Geometry is `pts` (flat x,y pairs) relative to the origin `x`,`y`, so moving a
 * shape changes two numbers however long it is. rect/ellipse: pts = two corners; line: its
 * two ends; stroke: every point; note: two corners, with `text`. Shapes are drawn layer by
 * layer (the document's `layers` list, bottom first), and within a layer by `z` (ties by id):
 * no order array of 10,000 ids to copy on every change.
 */
export interface Shape {
  kind: ShapeKind
  x: number
  y: number
  pts: number[]
  color: string
  width: number
  fill: boolean
  z: number
  /** The endpoint that made it. */
  by: string
  /** The layer it is on (an id from `Canvas.layers`); none or an unknown id: the bottom. */
  layer?: string
  /**
   * A note's text. Several people may type into it at once: each keystroke assigns the new
   * string in a plain `doc.change`, which Zinc turns into a text edit (inserted and deleted
   * ranges), so concurrent typing merges instead of the last keystroke winning.
   */
  text?: string
}

/** A layer: shapes are drawn in the order of `Canvas.layers`, first = bottom. */
export interface Layer {
  id: string
  name: string
}

/**
 * The shared document. Shapes live in a keyed collection (a change copies one bucket, not
 * 10,000 entries); layers are a short list that people reorder with plain array moves, which
 * Zinc records as list moves, so two people reordering at once both get what they did.
 * `layers` is missing on boards made before layers existed (the page adds it).
 */
export interface Canvas {
  shapes: Keyed<Shape>
  layers?: Layer[]
}

export const DEFAULT_LAYERS: readonly Layer[] = [
  { id: 'base', name: 'Background' },
  { id: 'l1', name: 'Drawing' },
  { id: 'l2', name: 'Notes' },
]

export interface Cursor {
  name: string
  color: string
  /** World coordinates, or null when the pointer is off the canvas. */
  cursor: [number, number] | null
  tool?: string
  /** Ids of the shapes this person has selected (at most 100 sent). */
  sel?: string[]
}

export const LIMITS = {
  /** Coordinates outside ±COORD are refused when drawing. */
  coord: 100_000,
  /** Numbers in one stroke (x,y pairs); a longer stroke continues in a new shape. */
  strokeNumbers: 8_000,
  /** Shapes in one paste. */
  pasteShapes: 2_000,
  /** Characters of clipboard text looked at. */
  pasteBytes: 1_000_000,
  /** Changes per second a tab may make (token bucket refill), and its burst. */
  changesPerSecond: 120,
  changeBurst: 240,
  nameLength: 32,
  /** Characters in one note. */
  noteText: 2_000,
  /** Layers in one board. */
  layers: 16,
  layerName: 40,
} as const

/** Colours of sticky notes (their fill); the text is dark on all of them. */
export const NOTE_COLORS = ['#fde68a', '#bbf7d0', '#bfdbfe', '#fbcfe8'] as const

export const COLORS = ['#1f2937', '#e11d48', '#f97316', '#eab308', '#16a34a', '#0ea5e9', '#6366f1', '#a855f7', '#ec4899', '#14b8a6'] as const

const ADJECTIVES = ['Amber', 'Brave', 'Calm', 'Dapper', 'Eager', 'Fuzzy', 'Gentle', 'Happy', 'Jolly', 'Kind', 'Lucky', 'Merry', 'Nimble', 'Plucky', 'Quick', 'Sunny', 'Witty', 'Zesty']
const ANIMALS = ['Otter', 'Panda', 'Fox', 'Koala', 'Heron', 'Lynx', 'Puffin', 'Badger', 'Gecko', 'Moose', 'Narwhal', 'Quokka', 'Robin', 'Seal', 'Tapir', 'Wombat', 'Yak', 'Zebra']
const CURSOR_COLORS = ['#e11d48', '#f97316', '#ca8a04', '#16a34a', '#0891b2', '#2563eb', '#7c3aed', '#c026d3', '#db2777', '#0d9488']

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!

export function friendlyName(): string {
  return `${pick(ADJECTIVES)} ${pick(ANIMALS)}`
}

export function friendlyColor(): string {
  return pick(CURSOR_COLORS)
}

let counter = 0
/** A short unique id: time, a random part, a counter. */
export function newShapeId(): string {
  counter = (counter + 1) % 1_679_616
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}${counter.toString(36)}`
}

const COLOR_RE = /^#[0-9a-fA-F]{6}$/
const KINDS = new Set<string>(['stroke', 'rect', 'ellipse', 'line', 'note'])

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= LIMITS.coord * 2

/** True when a value from the shared document is a shape we can draw (others may send anything). */
export function isShape(v: unknown): v is Shape {
  if (!v || typeof v !== 'object') return false
  const s = v as Record<string, unknown>
  if (typeof s.kind !== 'string' || !KINDS.has(s.kind)) return false
  if (!finite(s.x) || !finite(s.y) || !finite(s.z) || typeof s.width !== 'number' || !(s.width > 0 && s.width <= 100)) return false
  if (typeof s.color !== 'string' || !COLOR_RE.test(s.color)) return false
  const pts = s.pts
  if (!Array.isArray(pts) || pts.length < 2 || pts.length % 2 !== 0 || pts.length > LIMITS.strokeNumbers * 2) return false
  for (let i = 0; i < pts.length; i++) if (!finite(pts[i])) return false
  if (s.text !== undefined && (typeof s.text !== 'string' || s.text.length > LIMITS.noteText * 2)) return false
  if (s.layer !== undefined && typeof s.layer !== 'string') return false
  return true
}

/** The layers of a board as far as they can be trusted: well-formed, unique ids, at most LIMITS.layers. */
export function cleanLayers(v: unknown): Layer[] {
  if (!Array.isArray(v)) return []
  const seen = new Set<string>()
  const out: Layer[] = []
  for (const l of v) {
    if (!l || typeof l !== 'object') continue
    const { id, name } = l as Record<string, unknown>
    if (typeof id !== 'string' || typeof name !== 'string' || seen.has(id)) continue
    seen.add(id)
    out.push({ id, name: name.slice(0, LIMITS.layerName * 2) })
    if (out.length === LIMITS.layers * 2) break
  }
  return out
}

/** A cleaned copy of a pasted shape, or undefined. */
export function cleanShape(v: unknown, by: string): Shape | undefined {
  if (!isShape(v)) return undefined
  const shape: Shape = { kind: v.kind, x: v.x, y: v.y, pts: v.pts.slice(), color: v.color, width: v.width, fill: v.fill === true, z: v.z, by }
  if (typeof v.text === 'string') shape.text = v.text.slice(0, LIMITS.noteText)
  if (typeof v.layer === 'string') shape.layer = v.layer
  return shape
}

export function isCursor(v: unknown): v is Cursor {
  if (!v || typeof v !== 'object') return false
  const c = v as Record<string, unknown>
  if (typeof c.name !== 'string' || typeof c.color !== 'string' || !COLOR_RE.test(c.color)) return false
  return c.cursor === null || (Array.isArray(c.cursor) && c.cursor.length === 2 && finite(c.cursor[0]) && finite(c.cursor[1]))
}
