/** One card: its text (typed into by several people at once), who is typing, and its moves. */
import { memo } from 'react'
import { shallowEqual, useDocument, useOthers, usePresence } from '@zinc/react'
import { CollaborativeText } from './collaborative-text.js'
import { deleteCard, LIMITS, moveCardAcross, moveCardWithin, type Board, type Person } from './model.js'
import { BOARD_DOC } from './session.js'

export const CardItem = memo(function CardItem({ id, first, last, leftmost, rightmost }: { id: string; first: boolean; last: boolean; leftmost: boolean; rightmost: boolean }) {
  // Only this card's text: typing in another card does not re-render this one.
  const { state: text, change, doc } = useDocument<Board, string | undefined>(BOARD_DOC, { select: (b) => b.cards?.[id]?.text })
  const [me, setMe] = usePresence<Person>(BOARD_DOC)
  const editors = useOthers<Person, Person[]>(BOARD_DOC, (others) => others.filter((o) => o.presence.editing === id).map((o) => o.presence), shallowEqual)
  if (text === undefined) return null
  const focus = (editing: boolean) => me && setMe({ ...me, editing: editing ? id : undefined })
  return (
    <li className="card" data-card={id} style={editors[0] ? { boxShadow: `0 0 0 2px ${editors[0].color}` } : undefined}>
      <CollaborativeText
        aria-label="Card text"
        value={text}
        maxLength={LIMITS.cardText}
        rows={Math.min(8, Math.max(2, text.split('\n').length))}
        read={() => doc?.state.cards[id]?.text ?? ''}
        edit={(apply) =>
          change((d) => {
            const c = d.cards[id]
            if (c) c.text = apply(c.text)
          })
        }
        onFocus={() => focus(true)}
        onBlur={() => focus(false)}
      />
      <div className="card-tools">
        <span className="editors">{editors.map((p) => p.name).join(', ')}</span>
        <button title="Move up" aria-label="Move card up" disabled={first} onClick={() => change((d) => void moveCardWithin(d, id, -1))}>
          ↑
        </button>
        <button title="Move down" aria-label="Move card down" disabled={last} onClick={() => change((d) => void moveCardWithin(d, id, 1))}>
          ↓
        </button>
        <button title="Move to the list on the left" aria-label="Move card left" disabled={leftmost} onClick={() => change((d) => void moveCardAcross(d, id, -1))}>
          ←
        </button>
        <button title="Move to the list on the right" aria-label="Move card right" disabled={rightmost} onClick={() => change((d) => void moveCardAcross(d, id, 1))}>
          →
        </button>
        <button title="Delete card" aria-label="Delete card" onClick={() => change((d) => deleteCard(d, id))}>
          ×
        </button>
      </div>
    </li>
  )
})
