/** The shared document of the canvas, and checks of what arrives from others. */
import type { Keyed } from '@zinc/core'

export type ShapeKind = 'stroke' | 'rect' | 'ellipse' | 'line'

/**
 * One shape. Geometry is `pts` (flat x,y pairs) relative to the origin `x`,`y`, so moving a
 * shape changes two numbers however long it is. rect/ellipse: pts = two corners; line: its
 * two ends; stroke: every point. `z` orders shapes (ties by id): no big order array to copy.
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
}

/** Shapes live in a keyed collection: a change copies one bucket, not 10,000 entries. */
export interface Canvas {
  shapes: Keyed<Shape>
}

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
} as const

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
const KINDS = new Set<string>(['stroke', 'rect', 'ellipse', 'line'])

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
  return true
}

/** A cleaned copy of a pasted shape, or undefined. */
export function cleanShape(v: unknown, by: string): Shape | undefined {
  if (!isShape(v)) return undefined
  return { kind: v.kind, x: v.x, y: v.y, pts: v.pts.slice(), color: v.color, width: v.width, fill: v.fill === true, z: v.z, by }
}

export function isCursor(v: unknown): v is Cursor {
  if (!v || typeof v !== 'object') return false
  const c = v as Record<string, unknown>
  if (typeof c.name !== 'string' || typeof c.color !== 'string' || !COLOR_RE.test(c.color)) return false
  return c.cursor === null || (Array.isArray(c.cursor) && c.cursor.length === 2 && finite(c.cursor[0]) && finite(c.cursor[1]))
}
