/** One list: its title, its cards in order, and moving the list itself. */
import { memo } from 'react'
import { shallowEqual, useDocument } from '@zinc/react'
import { CardItem } from './card-item.js'
import { CollaborativeText } from './collaborative-text.js'
import { addCard, deleteList, LIMITS, misshapen, moveList, newId, placements, type Board } from './model.js'
import { BOARD_DOC } from './session.js'

interface ListView {
  title: string
  cards: string[]
}

export const ListColumn = memo(function ListColumn({ id, leftmost, rightmost }: { id: string; leftmost: boolean; rightmost: boolean }) {
  // This list's title and the cards shown in it (each once, see placements).
  const { state: list, change, doc } = useDocument<Board, ListView | undefined>(BOARD_DOC, { select: (b) => view(b, id), equal: listEqual })
  if (!list) return null
  return (
    <section className="list" data-list={id} aria-label={list.title || 'Untitled list'}>
      <header>
        <CollaborativeText
          className="list-title"
          aria-label="List title"
          rows={1}
          value={list.title}
          maxLength={LIMITS.title}
          read={() => doc?.state.lists.find((l) => l.id === id)?.title ?? ''}
          edit={(apply) =>
            change(
              (d) =>
                void setTitle(
                  d.lists.find((l) => l.id === id),
                  apply,
                ),
            )
          }
        />
        <button title="Move list left" aria-label="Move list left" disabled={leftmost} onClick={() => change((d) => void moveList(d, id, -1))}>
          ◀
        </button>
        <button title="Move list right" aria-label="Move list right" disabled={rightmost} onClick={() => change((d) => void moveList(d, id, 1))}>
          ▶
        </button>
        <button title="Delete list and its cards" aria-label="Delete list" onClick={() => change((d) => deleteList(d, id))}>
          ×
        </button>
      </header>
      <ul>
        {list.cards.map((card, i) => (
          <CardItem key={card} id={card} first={i === 0} last={i === list.cards.length - 1} leftmost={leftmost} rightmost={rightmost} />
        ))}
      </ul>
      <button className="add-card" onClick={() => change((d) => addCard(d, id, newId()))}>
        + Add a card
      </button>
    </section>
  )
})

function view(board: Board, id: string): ListView | undefined {
  if (misshapen(board)) return undefined
  const list = board.lists.find((l) => l.id === id)
  if (!list) return undefined
  const at = placements(board)
  return { title: list.title, cards: list.cards.filter((c) => at.get(c) === id) }
}

function listEqual(a: ListView | undefined, b: ListView | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.title === b.title && shallowEqual(a.cards, b.cards))
}

function setTitle(list: { title: string } | undefined, apply: (current: string) => string): void {
  if (list) list.title = apply(list.title)
}
