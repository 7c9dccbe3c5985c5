import { Endpoint } from '@zinc/core'
import { afterEach, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { WsClientTransport, WsServerTransport } from '../src/index.js'
import { Cleanup, waitFor } from './helpers.js'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

it('a host on ws addresses and two clients joining over WebSocket converge on a change', async () => {
  const hostTransport = cleanup.add(new WsServerTransport(), (t) => t.close())
  const host = cleanup.add(
    await Endpoint.start({
      transport: hostTransport,
      bind: { inbound: 'ws://127.0.0.1:*/in', outbound: 'ws://127.0.0.1:*/out' },
    }),
    (e) => e.close(),
  )
  expect(host.addresses.inbound).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/in$/)

  // A Node client that binds its own ws addresses (it could host children) …
  const nodeTransport = cleanup.add(new WsServerTransport(), (t) => t.close())
  const nodeClient = cleanup.add(
    await Endpoint.start({
      transport: nodeTransport,
      bind: { inbound: 'ws://127.0.0.1:*/in', outbound: 'ws://127.0.0.1:*/out' },
      join: host.addresses,
    }),
    (e) => e.close(),
  )
  // … and a leaf on the browser transport, which binds nothing.
  const leafTransport = cleanup.add(new WsClientTransport({ WebSocket }), (t) => t.close())
  const leaf = cleanup.add(await Endpoint.start({ transport: leafTransport, join: host.addresses }), (e) => e.close())

  const hostDoc = await host.open<{ n: number }>('d', { initial: { n: 0 } })
  const nodeDoc = await nodeClient.open<{ n: number }>('d')
  const leafDoc = await leaf.open<{ n: number }>('d')
  expect(nodeDoc.state.n).toBe(0)

  nodeDoc.change((d) => {
    d.n = 1
  })
  await nodeDoc.synced()
  await waitFor(() => leafDoc.state.n === 1 && hostDoc.state.n === 1, 'the change reaches the host and the other client')

  leafDoc.change((d) => {
    d.n = 2
  })
  await leafDoc.synced()
  await waitFor(() => nodeDoc.state.n === 2 && hostDoc.state.n === 2, "the leaf's change reaches everyone")
})

/**
 * A browser-like WebSocket whose SUB connections open at once but hold what they send (their
 * subscriptions) until `release()`: the subscriptions reach the parent after the HELLO.
 */
function lateSubs(): { WebSocket: new (url: string, protocol?: string | string[]) => unknown; release(): void } {
  let released = false
  const waiting: (() => void)[] = []
  class LateSub extends WebSocket {
    override send(data: Uint8Array): void {
      if (this.protocol === 'zinc-sub.v1' && !released) waiting.push(() => super.send(data))
      else super.send(data)
    }
  }
  return {
    WebSocket: LateSub,
    release: () => {
      released = true
      for (const send of waiting.splice(0)) send()
    },
  }
}

it('a tab whose SUB connects after its HELLO was answered gets the welcome kept for it, and syncs', async () => {
  const hostTransport = cleanup.add(new WsServerTransport(), (t) => t.close())
  const host = cleanup.add(await Endpoint.start({ transport: hostTransport, bind: { inbound: 'ws://127.0.0.1:*/in', outbound: 'ws://127.0.0.1:*/out' } }), (e) => e.close())
  const hostDoc = await host.open<{ n: number }>('d', { initial: { n: 0 } })

  const late = lateSubs()
  const tabTransport = cleanup.add(new WsClientTransport({ WebSocket: late.WebSocket }), (t) => t.close())
  const joining = Endpoint.start({ transport: tabTransport, join: host.addresses, joinTimeoutMs: 60_000 })
  // The HELLO arrived and was answered before the tab's SUB had subscribed to anything.
  await waitFor(() => (host.stats().sentByKind.WELCOME ?? 0) >= 1, 'the host to welcome the tab')
  expect(hostTransport.stats().heldForSubscription).toBeGreaterThanOrEqual(1)
  late.release()
  const tab = cleanup.add(await joining, (e) => e.close())

  const tabDoc = await tab.open<{ n: number }>('d')
  hostDoc.change((d) => {
    d.n = 1
  })
  await waitFor(() => tabDoc.state.n === 1, 'the change to reach the tab')
})
