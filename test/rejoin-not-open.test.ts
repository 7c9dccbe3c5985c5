import { consoleLogger, Endpoint, type EndpointOptions } from '@zinc/core'
import { FakeClock } from '@zinc/core/test-suite'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { afterEach, expect, it } from 'vitest'
import { converged } from './helpers.js'

const started: Endpoint[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((e) => e.close()))
})

async function start(network: InprocNetwork, node: string, options: Partial<EndpointOptions>, join?: Endpoint): Promise<Endpoint> {
  const endpoint = await Endpoint.start({
    ...options,
    ...(process.env.ZINC_TEST_LOG ? { logger: consoleLogger('info', { node }) } : {}),
    transport: new InprocTransport(network, { node }),
    bind: { inbound: network.uniqueAddress(`${node}-in`), outbound: network.uniqueAddress(`${node}-out`) },
    ...(join ? { join: join.addresses } : {}),
  })
  started.push(endpoint)
  return endpoint
}

/**
 * The failover bench's slow kills (bench/results/SUMMARY.md): a survivor that sees the root die
 * first joins its successor while that one is still a relay, reopens the document there and
 * resends its pending change at once. The relay asks the (dead) root whether the opener may
 * read, so the change arrives before the open is decided and is refused ERR_NOT_OPEN. Once the
 * successor promotes and serves the open, the refused change must go again then, not at the
 * next resend, `resendMs` after it was sent. On a fake clock: the whole failover replays the
 * same way every run, and the test looks until well before that resend would be due.
 */
it('a change refused for an open still being decided goes again once the open is served, not resendMs later', async () => {
  const clock = new FakeClock()
  const network = new InprocNetwork({ seed: 5 })
  const resendMs = 10_000
  const opts = { clock, heartbeatMs: 50, peerTimeoutMs: 300, resendMs, joinTimeoutMs: 10_000 }
  const host = await start(network, 'host', opts)
  // It presumes the root dead late, so the survivor joins it while it is still a relay.
  const successor = await start(network, 'successor', { ...opts, heartbeatMs: 10, peerTimeoutMs: 1_500 }, host)
  const survivor = await start(network, 'survivor', opts, host)
  const docs = [await successor.open<Record<string, number>>('doc', { initial: {} }), await survivor.open<Record<string, number>>('doc', { initial: {} })]
  docs[1]!.change((d) => void (d.before = 1))
  await clock.advance(500)
  expect(converged(docs)).toBe(true)
  network.kill('host')
  const killedAt = clock.now()
  // Made after the root died: lost with it, still pending when the survivor re-joins.
  const after = docs[1]!.change((d) => void (d.after = 1))!
  let confirmed = false
  // (Rejected only if the test fails and closes the endpoints with it still pending.)
  void after.confirmed.then(
    () => (confirmed = true),
    () => {},
  )
  while (clock.now() - killedAt < resendMs / 2 && !(confirmed && converged(docs))) await clock.advance(50)
  // The race this test is about took place: the relay refused the change for want of the open.
  expect(successor.stats().refusedByCode.ERR_NOT_OPEN ?? 0).toBeGreaterThan(0)
  expect(successor.role).toBe('host')
  expect(confirmed, `the refused change confirmed within ${resendMs / 2} ms of the kill`).toBe(true)
  expect(converged(docs)).toBe(true)
  expect(docs[0]!.state).toEqual({ before: 1, after: 1 })
})
