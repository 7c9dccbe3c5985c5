import { Endpoint } from '@zinc/core'
import { FakeClock } from '@zinc/core/test-suite'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { expect, it } from 'vitest'

/**
 * A parent's heartbeat goes to every child: at an edge with a thousand tabs, one more is a
 * thousand more socket writes, and a thousand decodings. A head that moved does not send one
 * at once (the fragments that moved it are on their way): while a document changes ten times
 * a second, children hear the parent's heartbeat at its idle pace (every fifth of the peer
 * timeout), not at every tick (issue 19). On a fake clock, so the counts are exact.
 */
it('a document changing ten times a second costs the children no heartbeat beyond the idle pace', async () => {
  const clock = new FakeClock()
  const network = new InprocNetwork()
  const live = { clock, heartbeatMs: 250, peerTimeoutMs: 2_500 } // idle pace: every 500 ms
  const root = await Endpoint.start({ ...live, transport: new InprocTransport(network, { node: 'root' }), bind: { inbound: 'inproc://root-in', outbound: 'inproc://root-out' } })
  const rootDoc = await root.open<{ n: number }>('doc', { initial: { n: 0 } })
  const joining = Endpoint.start({ ...live, transport: new InprocTransport(network, { node: 'child' }), join: root.addresses })
  await clock.advance(300, 10)
  const child = await joining
  const opening = child.open<{ n: number }>('doc')
  await clock.advance(300, 10)
  const childDoc = await opening
  await clock.advance(1_000, 10)
  const beats = () => child.stats().receivedByKind['HEARTBEAT'] ?? 0
  const before = beats()
  // 50 changes, one every 100 ms: 5 s.
  for (let n = 1; n <= 50; n++) {
    rootDoc.change((s) => void (s.n = n))
    await clock.advance(100, 10)
  }
  // At the idle pace: 10 in 5 s (one more for where the window falls). A beat at once after
  // every moved head would be one per tick: 20.
  expect(beats() - before).toBeLessThanOrEqual(11)
  expect(beats() - before).toBeGreaterThanOrEqual(9)
  expect(childDoc.state.n).toBe(50)
  await Promise.all([child.close(), root.close()])
})
