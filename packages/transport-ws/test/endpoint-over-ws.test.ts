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
