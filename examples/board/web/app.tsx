/**
 * The board page, written with @zinc/react: the provider gives every component the tab's
 * endpoint; the board suspends until its document is open (at once when this tab kept it).
 */
import { Component, Suspense, useEffect, useState, type ReactNode } from 'react'
import type { Endpoint } from '@zinc/core'
import { useEndpoint, usePresence, ZincProvider } from '@zinc/react'
import { BoardView } from './board-view.js'
import type { Person } from './model.js'
import { BOARD_DOC } from './session.js'
import { StatusBar } from './status-bar.js'

export interface AppProps {
  endpoint: Endpoint
  me: Person
  offline: boolean
  setOffline: (offline: boolean) => void
  /** Warnings about this tab's local copy (IdbLeafStorage), shown until the page reloads. */
  notices: readonly string[]
}

export function App({ endpoint, me, offline, setOffline, notices }: AppProps) {
  const [isOffline, setIsOffline] = useState(offline)
  const [warnings, setWarnings] = useState(notices)
  useEffect(() => endpoint.on('error', (error) => setWarnings((w) => [...w, error.message])), [endpoint])
  return (
    <ZincProvider endpoint={endpoint}>
      <Presence me={me} />
      <StatusBar
        offline={isOffline}
        onOffline={(o) => {
          setOffline(o)
          setIsOffline(o)
        }}
        notices={warnings}
      />
      <Failure>
        <Suspense fallback={<p className="opening">Opening the board…</p>}>
          <BoardView />
        </Suspense>
      </Failure>
    </ZincProvider>
  )
}

/** Shares this person's name and colour once the board is open. */
function Presence({ me }: { me: Person }) {
  const endpoint = useEndpoint()
  const [current, setMe] = usePresence<Person>(BOARD_DOC)
  useEffect(() => {
    if (!current) setMe(me)
  }, [current, me, setMe])
  // The tree forgets a tab's presence while it is away: say it again when back.
  useEffect(() => endpoint.on('parent-back', () => setMe(current ?? me)), [endpoint, current, me, setMe])
  return null
}

/** An open that failed (refused, or the tab closed its endpoint): say why instead of a blank page. */
class Failure extends Component<{ children: ReactNode }, { error: Error | undefined }> {
  override state: { error: Error | undefined } = { error: undefined }
  static getDerivedStateFromError(error: Error) {
    return { error }
  }
  override render() {
    if (this.state.error)
      return (
        <p className="failed" role="alert">
          Could not open the board: {this.state.error.message}
        </p>
      )
    return this.props.children
  }
}
