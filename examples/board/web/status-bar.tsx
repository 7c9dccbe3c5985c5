/** The connection, whether the board is saved, who else is here, and this tab's local copy. */
import { useStatus, useOthers, usePresence } from '@zinc/react'
import type { Person } from './model.js'
import { BOARD_DOC } from './session.js'

export function StatusBar({ offline, onOffline, notices }: { offline: boolean; onOffline: (offline: boolean) => void; notices: readonly string[] }) {
  const status = useStatus(BOARD_DOC)
  const [me, setMe] = usePresence<Person>(BOARD_DOC)
  const others = useOthers<Person>(BOARD_DOC)
  const connection = offline ? 'offline' : status.connected ? 'connected' : 'reconnecting'
  const saved = status.pending > 0 ? `${status.pending} change${status.pending === 1 ? '' : 's'} kept, not sent yet` : status.caughtUp ? 'all changes saved' : 'syncing…'
  return (
    <header className="status">
      <strong className="logo">Zinc board</strong>
      <span id="st-conn" className={`conn ${connection}`}>
        {connection}
      </span>
      <span id="st-saved">{saved}</span>
      <span className="people" id="st-people">
        {me && <span style={{ color: me.color }}>{me.name} (you)</span>}
        {others.map((o) => (
          <span key={o.id} style={{ color: o.presence.color }}>
            {o.presence.name}
          </span>
        ))}
      </span>
      <input aria-label="Your name" value={me?.name ?? ''} onChange={(e) => me && setMe({ ...me, name: e.target.value.slice(0, 40) })} />
      <button id="offline" aria-pressed={offline} onClick={() => onOffline(!offline)}>
        {offline ? 'Go online' : 'Go offline'}
      </button>
      <a href="/">Canvas</a>
      {notices.length > 0 && (
        <div id="notice" role="alert">
          {notices.join(' ')}
        </div>
      )}
    </header>
  )
}
