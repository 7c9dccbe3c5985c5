/** The board: its title and its lists, left to right. Suspends until the board is open. */
import { useEffect } from 'react'
import { shallowEqual, useSuspenseDocument } from '@zinc/react'
import { CollaborativeText } from './collaborative-text.js'
import { ListColumn } from './list-column.js'
import { addList, initialBoard, LIMITS, misshapen, needsRepair, newId, repairDuplicates, type Board } from './model.js'
import { BOARD_DOC } from './session.js'

interface BoardHead {
  title: string
  lists: string[]
  repair: boolean
}

export function BoardView() {
  // `initial` seeds a new board only; an existing one comes from the server (or this tab's copy).
  const { state, change, doc } = useSuspenseDocument<Board, BoardHead>(BOARD_DOC, { initial: initialBoard(), select: head, equal: headEqual })
  // A card two people moved to two lists at once stands in both: keep the first place. (And a
  // board that lacks its lists, opened elsewhere without `initial`, gets them.)
  useEffect(() => {
    if (state.repair) change(repairDuplicates)
  }, [state.repair, change])
  return (
    <main>
      <CollaborativeText
        className="board-title"
        aria-label="Board title"
        rows={1}
        value={state.title}
        maxLength={LIMITS.title}
        read={() => doc.state.title}
        edit={(apply) => change((d) => void (d.title = apply(d.title)))}
      />
      <div className="lists">
        {state.lists.map((id, i) => (
          <ListColumn key={id} id={id} leftmost={i === 0} rightmost={i === state.lists.length - 1} />
        ))}
        <button className="add-list" onClick={() => change((d) => addList(d, newId(), 'New list'))}>
          + Add a list
        </button>
      </div>
    </main>
  )
}

function head(b: Board): BoardHead {
  if (misshapen(b)) return { title: '', lists: [], repair: true }
  return { title: b.title, lists: b.lists.map((l) => l.id), repair: needsRepair(b) }
}

function headEqual(a: BoardHead, b: BoardHead): boolean {
  return a.title === b.title && a.repair === b.repair && shallowEqual(a.lists, b.lists)
}
