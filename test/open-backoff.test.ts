import { encodeMessage, Endpoint, HeartbeatCodec, Kind, newEndpointId, WelcomeCodec } from '@zinc/core'
import { FakeClock } from '@zinc/core/test-suite'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { expect, it } from 'vitest'
import { rawParent } from './raw-parent.js'

/** How far the fake clock moves per step while the test advances it. */
const STEP = 10

/**
 * An OPEN the parent never answers is sent again after `resendMs`, then twice as long each
 * time up to 4 × `resendMs`, each wait stretched by up to half (issue 19: a starved edge served
 * a crowd's opens twice when every tab asked again every 2 s). The parent here welcomes the
 * joiner and keeps it alive with heartbeats but ignores its OPENs. On a fake clock, so the
 * waits are exact up to the tick (250 ms).
 */
it('an unanswered open is asked again after 2, 4, 8, 8, … s, each up to half longer, and never sooner', async () => {
  const clock = new FakeClock()
  const network = new InprocNetwork()
  const parent = await rawParent(network, 'deaf')
  const parentId = newEndpointId()
  const opens: number[] = []
  parent.listen(async (m) => {
    if (m.kind === Kind.HELLO) {
      const payload = WelcomeCodec.encode({ ancestors: [], rosterVersion: 0, peerTimeoutMs: 1_500 })
      await parent.pub.send(`e/${m.origin}`, encodeMessage({ kind: Kind.WELCOME, origin: parentId, epoch: 1, payload }))
    }
    if (m.kind === Kind.OPEN) opens.push(clock.now())
  })
  // Heartbeats on the fake clock keep the link alive; the open stays unanswered.
  const beat = encodeMessage({ kind: Kind.HEARTBEAT, origin: parentId, epoch: 1, payload: HeartbeatCodec.encode({ heads: [], rosterVersion: 0, ancestors: [] }) })
  const beating = clock.setInterval(() => void parent.pub.send('c', beat), 250)
  const joining = Endpoint.start({
    clock,
    heartbeatMs: 250,
    resendMs: 2_000,
    transport: new InprocTransport(network, { node: 'child' }),
    join: parent.addresses,
  })
  await clock.advance(500, STEP)
  const child = await joining
  const opened = child.open('doc', { timeoutMs: 120_000 }).catch((error: unknown) => error)
  await clock.advance(60_000, STEP)
  const waits = opens.slice(1).map((at, i) => at - opens[i]!)
  const bases = [2_000, 4_000, 8_000, 8_000, 8_000, 8_000]
  expect(waits.length).toBeGreaterThanOrEqual(bases.length)
  waits.slice(0, bases.length).forEach((wait, i) => {
    // The parent notes when an OPEN arrives, which can be one clock step after it was sent:
    // two arrivals may be up to a step closer than the sends were (seen as "2000 > 2000").
    expect(wait).toBeGreaterThan(bases[i]! - STEP)
    expect(wait).toBeLessThanOrEqual(bases[i]! * 1.5 + 250 + STEP)
  })
  clock.clearInterval(beating)
  await child.close()
  await opened
  await parent.close()
})
