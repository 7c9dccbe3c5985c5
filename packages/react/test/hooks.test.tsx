/**
 * @zinc/react in jsdom with Testing Library, on a real tree (an in-process host and leaves).
 */
import { act, cleanup, render, screen, waitFor } from '@testing-library/react'
import { StrictMode, Suspense, useRef } from 'react'
import { afterEach, describe, expect, it } from 'vitest'
import { Endpoint } from '@zinc/core'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { shallowEqual, useDocument, useOthers, usePresence, useStatus, useSuspenseDocument, ZincProvider } from '../src/index.js'

type Board = { title: string; cards: string[] }
type Cursor = { name: string }

const FAST = { heartbeatMs: 30, peerTimeoutMs: 400, resendMs: 150 }
const started: Endpoint[] = []

afterEach(async () => {
  cleanup()
  await Promise.all(started.splice(0).map((e) => e.close()))
})

async function tree(leaves = 1) {
  const network = new InprocNetwork({ seed: 9 })
  const host = await Endpoint.start({ ...FAST, transport: new InprocTransport(network, { node: 'host' }), bind: { inbound: network.uniqueAddress('h-in'), outbound: network.uniqueAddress('h-out') } })
  started.push(host)
  const hostDoc = await host.open<Board>('board', { initial: { title: 'Plans', cards: [] } })
  const tabs: Endpoint[] = []
  for (let i = 0; i < leaves; i++) {
    const tab = await Endpoint.start({ ...FAST, transport: new InprocTransport(network, { node: `tab-${i}` }), join: host.addresses })
    started.push(tab)
    tabs.push(tab)
  }
  return { network, host, hostDoc, tabs }
}

function Cards({ renders }: { renders?: { n: number } }) {
  const { state, change } = useDocument<Board, string[]>('board', { initial: { title: '', cards: [] }, select: (b) => b.cards })
  if (renders) renders.n++
  if (!state) return <p>opening</p>
  return (
    <div>
      <ul>
        {state.map((c, i) => (
          <li key={i}>{c}</li>
        ))}
      </ul>
      <button onClick={() => change((d) => void d.cards.push(`card ${d.cards.length + 1}`))}>add</button>
    </div>
  )
}

function Title({ renders }: { renders: { n: number } }) {
  const { state: title } = useDocument<Board, string>('board', { select: (b) => b.title })
  renders.n++
  return <h1>{title ?? '…'}</h1>
}

describe('@zinc/react', () => {
  it('useDocument: typed state and change; a change reaches the other tab', async () => {
    const { tabs, hostDoc } = await tree(2)
    render(
      <>
        <ZincProvider endpoint={tabs[0]!}>
          <section data-testid="a">
            <Cards />
          </section>
        </ZincProvider>
        <ZincProvider endpoint={tabs[1]!}>
          <section data-testid="b">
            <Cards />
          </section>
        </ZincProvider>
      </>,
    )
    const [addA] = await screen.findAllByText('add')
    act(() => addA!.click())
    await waitFor(() => expect(screen.getByTestId('b').textContent).toContain('card 1'))
    expect(screen.getByTestId('a').textContent).toContain('card 1')
    await waitFor(() => expect(hostDoc.state.cards).toEqual(['card 1']))
  })

  it('a component re-renders only when its selected part changes', async () => {
    const { tabs, hostDoc } = await tree(1)
    const title = { n: 0 }
    const cards = { n: 0 }
    render(
      <ZincProvider endpoint={tabs[0]!}>
        <Title renders={title} />
        <Cards renders={cards} />
      </ZincProvider>,
    )
    await screen.findByText('Plans')
    const before = { title: title.n, cards: cards.n }
    for (let i = 0; i < 5; i++) hostDoc.change((d) => void d.cards.push(`c${i}`))
    await waitFor(() => expect(screen.getAllByRole('listitem')).toHaveLength(5))
    expect(title.n).toBe(before.title) // the cards changed, the title did not
    expect(cards.n).toBeGreaterThan(before.cards)
    hostDoc.change((d) => void (d.title = 'Plans, revised'))
    await screen.findByText('Plans, revised')
    expect(title.n).toBe(before.title + 1)
  })

  it('useSuspenseDocument suspends until the document is open', async () => {
    const { tabs } = await tree(1)
    function Heading() {
      const { state } = useSuspenseDocument<Board, string>('board', { select: (b) => b.title })
      return <h1>{state}</h1>
    }
    render(
      <ZincProvider endpoint={tabs[0]!}>
        <Suspense fallback={<p>opening…</p>}>
          <Heading />
        </Suspense>
      </ZincProvider>,
    )
    expect(screen.getByText('opening…')).toBeTruthy()
    expect(await screen.findByText('Plans')).toBeTruthy()
  })

  it('a component unmounted mid-open leaks nothing: the open is aborted, no document stays carried', async () => {
    const { network, tabs } = await tree(1)
    const tab = tabs[0]!
    network.partition(['tab-0'], ['host'])
    const view = render(
      <ZincProvider endpoint={tab} releaseAfterMs={50}>
        <Cards />
      </ZincProvider>,
    )
    await screen.findByText('opening')
    expect(tab.stats().docs).toHaveProperty('board')
    view.unmount()
    await waitFor(() => expect(tab.stats().docs).not.toHaveProperty('board'))
    network.heal()
    // The answer to the abandoned open, if one comes, does not bring it back.
    await new Promise((r) => setTimeout(r, 300))
    expect(tab.stats().docs).not.toHaveProperty('board')
  })

  it('a suspended render thrown away before the open resolves: the document is closed once it arrives', async () => {
    const { network, tabs } = await tree(1)
    const tab = tabs[0]!
    network.partition(['tab-0'], ['host'])
    function Heading() {
      const { state } = useSuspenseDocument<Board, string>('board', { select: (b) => b.title })
      return <h1>{state}</h1>
    }
    const view = render(
      <ZincProvider endpoint={tab} releaseAfterMs={2000}>
        <Suspense fallback={<p>opening…</p>}>
          <Heading />
        </Suspense>
      </ZincProvider>,
    )
    expect(screen.getByText('opening…')).toBeTruthy()
    view.unmount()
    network.heal() // the open now completes, for nobody
    await waitFor(() => expect(tab.stats().docs).toHaveProperty('board'))
    await waitFor(() => expect(tab.stats().docs).not.toHaveProperty('board'), { timeout: 10_000 })
  })

  it('StrictMode (mount, unmount, mount) opens the document once and keeps it', async () => {
    const { tabs } = await tree(1)
    const tab = tabs[0]!
    render(
      <StrictMode>
        <ZincProvider endpoint={tab} releaseAfterMs={50}>
          <Cards />
        </ZincProvider>
      </StrictMode>,
    )
    await screen.findByText('add')
    await new Promise((r) => setTimeout(r, 200))
    expect(tab.stats().docs).toHaveProperty('board')
    act(() => screen.getByText('add').click())
    await screen.findByText('card 1')
  })

  it('usePresence and useOthers: typed, and others see this tab', async () => {
    const { tabs } = await tree(2)
    function Me() {
      const [me, setMe] = usePresence<Cursor>('board')
      return <button onClick={() => setMe({ name: 'Ada' })}>{me ? `me: ${me.name}` : 'join'}</button>
    }
    function Others() {
      const names = useOthers<Cursor, string[]>('board', (others) => others.map((o) => o.presence.name), shallowEqual)
      const renders = useRef(0)
      renders.current++
      return <p data-testid="others">{names.join(',') || 'nobody'}</p>
    }
    render(
      <>
        <ZincProvider endpoint={tabs[0]!}>
          <Me />
        </ZincProvider>
        <ZincProvider endpoint={tabs[1]!}>
          <Others />
        </ZincProvider>
      </>,
    )
    act(() => screen.getByText('join').click())
    await screen.findByText('me: Ada')
    await waitFor(() => expect(screen.getByTestId('others').textContent).toBe('Ada'))
  })

  it('useStatus: connected, role, and caught up once changes are confirmed', async () => {
    const { tabs } = await tree(1)
    function Status() {
      const s = useStatus('board')
      const { change } = useDocument<Board>('board')
      return (
        <div>
          <p data-testid="status">{`${s.connected ? 'connected' : 'offline'} ${s.role} ${s.caughtUp ? 'caught-up' : 'syncing'} ${s.pending}`}</p>
          <button onClick={() => change((d) => void d.cards.push('x'))}>add</button>
        </div>
      )
    }
    render(
      <ZincProvider endpoint={tabs[0]!}>
        <Status />
      </ZincProvider>,
    )
    await waitFor(() => expect(screen.getByTestId('status').textContent).toBe('connected client caught-up 0'))
    act(() => screen.getByText('add').click())
    await waitFor(() => expect(screen.getByTestId('status').textContent).toBe('connected client caught-up 0'))
  })

  it('useStatus while the parent is unreachable: not connected, changes pending, not caught up; then back', async () => {
    const { network, tabs } = await tree(1)
    function Status() {
      const s = useStatus('board')
      const { change } = useDocument<Board>('board')
      return (
        <div>
          <p data-testid="status">{`${s.connected ? 'connected' : 'offline'} ${s.caughtUp ? 'caught-up' : 'syncing'} ${s.pending}`}</p>
          <button onClick={() => change((d) => void d.cards.push('made offline'))}>add</button>
        </div>
      )
    }
    render(
      <ZincProvider endpoint={tabs[0]!}>
        <Status />
      </ZincProvider>,
    )
    await waitFor(() => expect(screen.getByTestId('status').textContent).toBe('connected caught-up 0'))
    network.partition(['tab-0'], ['host'])
    act(() => screen.getByText('add').click())
    await waitFor(() => expect(screen.getByTestId('status').textContent).toBe('offline syncing 1'))
    network.heal()
    await waitFor(() => expect(screen.getByTestId('status').textContent).toBe('connected caught-up 0'), { timeout: 20_000 })
  })
})
