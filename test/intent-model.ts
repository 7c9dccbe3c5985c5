import type { Document, DocumentFragment } from '@zinc/core'
import { expect } from 'vitest'
// Plain JavaScript shared with the worker processes (this directory is not type-checked).
import { randomStep as randomStepJs, tokensOf } from './intent-steps.mjs'

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

export type Intent = (
  | { kind: 'insert'; id: string }
  | { kind: 'remove'; id: string }
  | { kind: 'move'; id: string }
  | { kind: 'edit'; id: string; mark: string }
  | { kind: 'type'; token: string; after?: string; before?: string }
  | { kind: 'erase'; token: string }
) & { fragment: DocumentFragment }

/** An intent and whether the root accepted it, as plain data (it travels from worker processes). */
export type Outcome = Omit<Intent, 'fragment'> & { accepted: boolean }

export { tokensOf }

/** Makes one random change on `doc` and says what it meant (see intent-steps.mjs). */
export const randomStep = randomStepJs as (doc: Document<Board>, tag: string, random: () => number) => Intent | undefined

/** Checks the converged state against every change and whether the root accepted it. */
export function checkIntent(state: Board, intents: Outcome[]): void {
  const ok = intents.filter((i) => i.accepted)
  const refused = intents.filter((i) => !i.accepted)
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
  const tokens = tokensOf(state.text) as string[]
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
