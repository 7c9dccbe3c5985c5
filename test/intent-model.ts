import type { Document, DocumentFragment } from '@zinc/core'
import { expect } from 'vitest'

/**
 * The model of issue 13's property tests (inproc and ZeroMQ): a list of elements with ids,
 * each carrying the marks of the edits made to it, and a text of unique tokens. Every step
 * is one change with one intent, made through plain `doc.change` recipes, so what is checked
 * is what an application gets.
 */
export interface Element {
  id: string
  /** mark -> true, one per element edit, so an edit on the wrong element shows. */
  marks: Record<string, true>
}
export interface Board {
  items: Element[]
  text: string
}

export type Intent =
  | { kind: 'insert'; id: string; fragment: DocumentFragment }
  | { kind: 'remove'; id: string; fragment: DocumentFragment }
  | { kind: 'move'; id: string; fragment: DocumentFragment }
  | { kind: 'edit'; id: string; mark: string; fragment: DocumentFragment }
  | { kind: 'type'; token: string; after?: string; before?: string; fragment: DocumentFragment }
  | { kind: 'erase'; token: string; fragment: DocumentFragment }

/** Tokens are bracketed so a cut or an interleaving is visible. */
const tokenPattern = /⟨[^⟨⟩]*⟩/g
export const tokensOf = (text: string): string[] => text.match(tokenPattern) ?? []

/** Makes one random change on `doc` (visible state as the author sees it) and says what it meant. */
export function randomStep(doc: Document<Board>, tag: string, random: () => number): Intent | undefined {
  const state = doc.state
  const n = state.items.length
  const pick = random()
  if (pick < 0.2 || n === 0) {
    const id = `e${tag}`
    const at = Math.floor(random() * (n + 1))
    const fragment = doc.change((d) => void d.items.splice(at, 0, { id, marks: {} }))
    return fragment && { kind: 'insert', id, fragment }
  }
  const index = Math.floor(random() * n)
  const id = state.items[index]!.id
  if (pick < 0.3) {
    const fragment = doc.change((d) => void d.items.splice(index, 1))
    return fragment && { kind: 'remove', id, fragment }
  }
  if (pick < 0.4) {
    const to = Math.floor(random() * n)
    const fragment = doc.change((d) => {
      const [el] = d.items.splice(index, 1)
      d.items.splice(to, 0, el!)
    })
    return fragment && { kind: 'move', id, fragment }
  }
  if (pick < 0.6) {
    const mark = `m${tag}`
    const fragment = doc.change((d) => {
      d.items[index]!.marks[mark] = true
    })
    return fragment && { kind: 'edit', id, mark, fragment }
  }
  const tokens = tokensOf(state.text)
  if (pick < 0.88 || tokens.length === 0) {
    // Type a token between two tokens (or at an end), as an edit of the whole string.
    const token = `⟨${tag}⟩`
    const slot = Math.floor(random() * (tokens.length + 1))
    const after = tokens[slot - 1]
    const before = tokens[slot]
    const text = [...tokens.slice(0, slot), token, ...tokens.slice(slot)].join('')
    const fragment = doc.change((d) => void (d.text = text))
    return fragment && { kind: 'type', token, after, before, fragment }
  }
  const token = tokens[Math.floor(random() * tokens.length)]!
  const fragment = doc.change((d) => void (d.text = d.text.replace(token, '')))
  return fragment && { kind: 'erase', token, fragment }
}

/**
 * Checks the converged state against every change: `accepted[i]` says whether intent i's
 * fragment was confirmed (true) or refused (false).
 */
export function checkIntent(state: Board, intents: Intent[], accepted: boolean[]): void {
  const ok = intents.filter((_, i) => accepted[i])
  const refused = intents.filter((_, i) => !accepted[i])
  // Inserts, removals and refusals of list elements.
  const removed = new Set(ok.filter((i) => i.kind === 'remove').map((i) => i.id))
  const ids = state.items.map((e) => e.id)
  expect(new Set(ids).size, 'an element appears twice').toBe(ids.length)
  for (const i of ok) if (i.kind === 'insert') expect(ids.includes(i.id), `accepted insert ${i.id}`).toBe(!removed.has(i.id))
  for (const i of refused) if (i.kind === 'insert') expect(ids.includes(i.id), `refused insert ${i.id}`).toBe(false)
  // Edits: on the element their author addressed, and only there.
  const byMark = new Map<string, string>()
  for (const e of state.items) for (const mark of Object.keys(e.marks)) byMark.set(mark, e.id)
  for (const i of intents) {
    if (i.kind !== 'edit') continue
    const on = byMark.get(i.mark)
    if (on !== undefined) expect(on, `edit ${i.mark} landed on another element`).toBe(i.id)
    const accepted = ok.includes(i)
    if (accepted && ids.includes(i.id)) expect(on, `accepted edit ${i.mark} missing`).toBe(i.id)
    if (!accepted) expect(on, `refused edit ${i.mark} present`).toBeUndefined()
  }
  // Text: every accepted token intact, once, unless erased; in place between its neighbours.
  const tokens = tokensOf(state.text)
  expect(tokens.join(''), 'the text is made of whole tokens only').toBe(state.text)
  expect(new Set(tokens).size, 'a token appears twice').toBe(tokens.length)
  const erased = new Set(ok.filter((i) => i.kind === 'erase').map((i) => i.token))
  const position = new Map(tokens.map((t, k) => [t, k]))
  for (const i of intents) {
    if (i.kind !== 'type') continue
    const accepted = ok.includes(i)
    expect(position.has(i.token), `token ${i.token} (${accepted ? 'accepted' : 'refused'})`).toBe(accepted && !erased.has(i.token))
    if (!position.has(i.token)) continue
    const at = position.get(i.token)!
    if (i.after && position.has(i.after)) expect(position.get(i.after)!, `${i.token} typed after ${i.after}`).toBeLessThan(at)
    if (i.before && position.has(i.before)) expect(position.get(i.before)!, `${i.token} typed before ${i.before}`).toBeGreaterThan(at)
  }
}
