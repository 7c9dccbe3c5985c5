/**
 * The document every chaos member opens, and how writers' tokens land in it. Each confirmed
 * change carries one unique token `<name>.<incarnation>#<i>`; by `i % 3` it goes into one of
 * three places, so each kind of operation is checked: a list push, a plain-object entry, and
 * an entry of a `keyed` collection (the layout the canvas stores its shapes in).
 */
import { createHash } from 'node:crypto'
import { keyed, type Keyed } from '@zinc/core'

export type ChaosDoc = {
  /** List pushes: a token must appear exactly once. */
  log: string[]
  /** Plain-object entries: token → writer name. */
  entries: Record<string, string>
  /** Keyed-collection entries: token → writer name. */
  shapes: Keyed<string>
}

export const DOC_ID = 'chaos'

export function initialDoc(): ChaosDoc {
  return { log: [], entries: {}, shapes: keyed.empty<string>() }
}

export type TokenKind = 'log' | 'entries' | 'shapes'
const KINDS: readonly TokenKind[] = ['log', 'entries', 'shapes']

export const tokenOf = (name: string, incarnation: number, i: number): string => `${name}.${incarnation}#${i}`

export function kindOf(token: string): TokenKind {
  const i = Number(token.slice(token.lastIndexOf('#') + 1))
  return KINDS[i % KINDS.length]!
}

const writerOf = (token: string): string => token.slice(0, token.indexOf('.'))

/** The recipe of the change that writes `token`. */
export function write(d: ChaosDoc, token: string): void {
  const kind = kindOf(token)
  if (kind === 'log') d.log.push(token)
  else if (kind === 'entries') d.entries[token] = writerOf(token)
  else keyed.set(d.shapes, token, writerOf(token))
}

/** How many times each token is present in `state`, where its kind puts it (entries count at most once). */
export function occurrences(state: ChaosDoc): Map<string, number> {
  const counts = new Map<string, number>()
  const add = (token: string) => counts.set(token, (counts.get(token) ?? 0) + 1)
  for (const token of state.log ?? []) add(token)
  for (const [token, writer] of Object.entries(state.entries ?? {})) if (writer === writerOf(token)) add(token)
  if (state.shapes) for (const [token, writer] of keyed.entries(state.shapes)) if (writer === writerOf(token)) add(token)
  return counts
}

/** A hash of the state that does not depend on the order keys were inserted in. */
export function stateHash(state: unknown): string {
  return createHash('sha256').update(canonical(state)).digest('hex').slice(0, 16)
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`
  }
  return JSON.stringify(value)
}
