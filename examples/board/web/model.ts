/**
 * The board's document: lists of cards. Lists and each list's cards are arrays, so reordering
 * is a list move (splice out, splice in) that Zinc records as an ot-json1 move: two people
 * reordering at once both keep their move. A card's text lives in `cards`, keyed by id, apart
 * from where the card stands: typing is a text edit that merges with others' typing, and it
 * survives someone moving the card to another list at the same time.
 */
import type { Draft } from '@zinc/core'

export interface Card {
  text: string
}

export interface List {
  id: string
  title: string
  /** Card ids, top first. */
  cards: string[]
}

export interface Board {
  title: string
  lists: List[]
  cards: Record<string, Card>
}

/** What each tab shows of the others: a name, a colour, and the card being typed in. */
export interface Person {
  name: string
  color: string
  editing?: string
}

export const LIMITS = { title: 200, cardText: 2000, cards: 2000, lists: 50 } as const

export function initialBoard(): Board {
  return {
    title: 'Our board',
    lists: [
      { id: 'todo', title: 'To do', cards: [] },
      { id: 'doing', title: 'Doing', cards: [] },
      { id: 'done', title: 'Done', cards: [] },
    ],
    cards: {},
  }
}

let counter = 0
/** A short unique id: time, a random part, a counter. */
export function newId(): string {
  counter = (counter + 1) % 1_679_616
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}${counter.toString(36)}`
}

// ---- changes (recipes for doc.change) ------------------------------------------------------

export function addCard(d: Draft<Board>, listId: string, id: string, text = ''): void {
  const list = d.lists.find((l) => l.id === listId)
  if (!list || Object.keys(d.cards).length >= LIMITS.cards) return
  d.cards[id] = { text }
  list.cards.push(id)
}

export function deleteCard(d: Draft<Board>, id: string): void {
  for (const list of d.lists) {
    const i = list.cards.indexOf(id)
    if (i >= 0) list.cards.splice(i, 1)
  }
  delete d.cards[id]
}

/** Moves a card by `delta` places within its list (a list move). */
export function moveCardWithin(d: Draft<Board>, id: string, delta: number): boolean {
  const list = d.lists.find((l) => l.cards.includes(id))
  if (!list) return false
  const from = list.cards.indexOf(id)
  const to = Math.max(0, Math.min(list.cards.length - 1, from + delta))
  if (to === from) return false
  const [card] = list.cards.splice(from, 1)
  list.cards.splice(to, 0, card!)
  return true
}

/** Moves a card to the list `delta` places left or right, at its end. Its text stays where it is (in `cards`). */
export function moveCardAcross(d: Draft<Board>, id: string, delta: number): boolean {
  const from = d.lists.findIndex((l) => l.cards.includes(id))
  const to = from + delta
  if (from < 0 || to < 0 || to >= d.lists.length) return false
  const source = d.lists[from]!
  source.cards.splice(source.cards.indexOf(id), 1)
  d.lists[to]!.cards.push(id)
  return true
}

/** Moves a list by `delta` places (a list move). */
export function moveList(d: Draft<Board>, id: string, delta: number): boolean {
  const from = d.lists.findIndex((l) => l.id === id)
  const to = Math.max(0, Math.min(d.lists.length - 1, from + delta))
  if (from < 0 || to === from) return false
  const [list] = d.lists.splice(from, 1)
  d.lists.splice(to, 0, list!)
  return true
}

export function addList(d: Draft<Board>, id: string, title: string): void {
  if (d.lists.length >= LIMITS.lists) return
  d.lists.push({ id, title, cards: [] })
}

export function deleteList(d: Draft<Board>, id: string): void {
  const i = d.lists.findIndex((l) => l.id === id)
  if (i < 0) return
  for (const card of d.lists[i]!.cards) delete d.cards[card]
  d.lists.splice(i, 1)
}

/** Puts back what a board must have (a board opened elsewhere without `initial` is `{}`). */
export function repairShape(d: Draft<Board>): void {
  const fresh = initialBoard()
  if (typeof d.title !== 'string') d.title = fresh.title
  if (!Array.isArray(d.lists)) d.lists = fresh.lists
  if (typeof d.cards !== 'object' || d.cards === null || Array.isArray(d.cards)) d.cards = {}
}

/** Whether the board lacks what it must have (see repairShape). */
export function misshapen(board: Board): boolean {
  return typeof board.title !== 'string' || !Array.isArray(board.lists) || typeof board.cards !== 'object' || board.cards === null || Array.isArray(board.cards)
}

// ---- reading ---------------------------------------------------------------------------------

/**
 * Where each card is shown: in the first list that holds it. Two people moving one card to
 * two lists at once leave it in both (each move's insert is kept); it is shown once, and
 * `repairDuplicates` removes the extra place.
 */
export function placements(board: Board): Map<string, string> {
  const at = new Map<string, string>()
  for (const list of board.lists) for (const card of list.cards) if (!at.has(card) && board.cards[card]) at.set(card, list.id)
  return at
}

/** Whether any card stands in two places (or a list holds a card that no longer exists). */
export function needsRepair(board: Board): boolean {
  if (misshapen(board)) return true
  const seen = new Set<string>()
  for (const list of board.lists)
    for (const card of list.cards) {
      if (seen.has(card) || !board.cards[card]) return true
      seen.add(card)
    }
  return false
}

export function repairDuplicates(d: Draft<Board>): void {
  repairShape(d)
  const seen = new Set<string>()
  for (const list of d.lists)
    for (let i = 0; i < list.cards.length;) {
      const card = list.cards[i]!
      if (seen.has(card) || !d.cards[card]) list.cards.splice(i, 1)
      else {
        seen.add(card)
        i++
      }
    }
}
