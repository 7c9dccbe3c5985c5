import { Endpoint, JoinTimeoutError, Kind } from '@zinc/core'
import { FakeClock } from '@zinc/core/test-suite'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { expect, it } from 'vitest'
import { rawParent } from './raw-parent.js'

/**
 * A joiner says hello again only on its join's back-off (250 ms, then doubling to 2 s): a crowd
 * joining a busy parent must not bury it under hellos, each answered with a welcome and a
 * roster (issue 19). On a fake clock, so the times are exact.
 */
it('a joiner whose parent does not answer says hello at 0, 250, 750, 1,750 ms and then every 2 s, and nothing else', async () => {
  const clock = new FakeClock()
  const network = new InprocNetwork()
  const silent = await rawParent(network, 'silent')
  const heard: { at: number; kind: string }[] = []
  silent.listen((m) => void heard.push({ at: clock.now(), kind: m.kind === Kind.HELLO ? 'HELLO' : String(m.kind) }))
  const joining = Endpoint.start({
    clock,
    heartbeatMs: 250,
    joinTimeoutMs: 8_000,
    transport: new InprocTransport(network, { node: 'joiner' }),
    join: silent.addresses,
  })
  const failed = joining.then(
    () => undefined,
    (error: unknown) => error,
  )
  await clock.advance(8_100, 10)
  expect(await failed).toBeInstanceOf(JoinTimeoutError)
  // Times from the first hello (the fake clock's steps delay when each is read, alike).
  expect(heard.map((h) => `${h.at - heard[0]!.at} ${h.kind}`)).toEqual(['0 HELLO', '250 HELLO', '750 HELLO', '1750 HELLO', '3750 HELLO', '5750 HELLO', '7750 HELLO'])
  await silent.close()
})
