import { describe, expect, it } from 'vitest'
import type { PeerIdentity, ReceivedFrames } from '../transport.js'
import { str, text } from './bytes.js'
import type { Harness } from './harness.js'
import { isProbe } from './probe.js'
import { TEST_TIMEOUT } from './setup.js'

const SESSION_A = 'suite-session-aaaaaaaaaaaaaaaa'
const SESSION_B = 'suite-session-bbbbbbbbbbbbbbbb'

/**
 * The optional identity parts of the contract (`ReceivedFrames.peer`, `ChannelOptions.session`,
 * gated PUBs). A transport that cannot tell connections apart leaves them out, and these tests
 * then check only that: no `peer`, no `admit`. One that has them must keep their promises,
 * because an endpoint's trust boundary rests on them.
 */
export function identityTests(harness: () => Harness): void {
  describe('identity (optional)', () => {
    it(
      'a PULL that reports peers reports one session per peer, the one it presented, across messages',
      async () => {
        const h = harness()
        const pull = await h.pull(await h.node())
        const received = h.collect(pull)
        const a = await h.push(await h.node(), pull.address, { session: SESSION_A })
        const b = await h.push(await h.node(), pull.address, { session: SESSION_B })
        for (let i = 0; i < 3; i++) {
          await a.send(text(`a${i}`))
          await b.send(text(`b${i}`))
        }
        await h.waitFor(() => received.messages.length === 6, 'six messages')
        const peers = received.messages.map((f) => [str(f[0]), (f as ReceivedFrames).peer] as const)
        if (peers.every(([, peer]) => peer === undefined)) {
          // This transport cannot tell senders apart: nothing more to check.
          expect(pull.isConnected).toBeUndefined()
          return
        }
        const sessions = (prefix: string) => new Set(peers.filter(([body]) => body.startsWith(prefix)).map(([, peer]) => (peer as PeerIdentity).session))
        expect(sessions('a')).toEqual(new Set([SESSION_A]))
        expect(sessions('b')).toEqual(new Set([SESSION_B]))
        expect(pull.isConnected?.(SESSION_A)).toBe(true)
        expect(pull.isConnected?.('suite-session-nobody-nobody-nobody')).toBe(false)
        await a.close()
        await h.waitFor(() => pull.isConnected?.(SESSION_A) === false, 'the closed peer to be reported gone')
      },
      TEST_TIMEOUT,
    )

    it(
      'a gated PUB delivers to a session only the topics admitted to it, whatever it subscribed to',
      async () => {
        const h = harness()
        const pub = await h.pub(await h.node(), h.address(), { gated: true })
        if (typeof pub.admit !== 'function') {
          // Cannot tell subscribers apart: gating is not offered (and revoke neither).
          expect(pub.revoke).toBeUndefined()
          return
        }
        const mine = await h.sub(await h.node(), pub.address, { session: SESSION_A })
        const other = await h.sub(await h.node(), pub.address, { session: SESSION_B })
        mine.subscribe('')
        other.subscribe('')
        const got = h.collect(mine)
        const otherGot = h.collect(other)
        pub.admit(SESSION_A, 'e/a')
        await h.repeatUntil(
          () => pub.send('e/a', text('probe')),
          () => got.messages.length > 0,
          'the admitted topic reaches its session',
        )
        await pub.send('c', text('not admitted'))
        await pub.send('e/b', text('not admitted'))
        pub.admit(SESSION_A, 'c')
        await h.repeatUntil(
          () => pub.send('c', text('now admitted')),
          () => got.messages.some((f) => str(f[1]) === 'now admitted'),
          'a topic admitted later',
        )
        pub.revoke?.(SESSION_A, 'c')
        await pub.send('c', text('revoked'))
        await pub.send('e/a', text('end'))
        await h.waitFor(() => got.messages.some((f) => str(f[1]) === 'end'), 'the end marker')
        const bodies = got.messages.filter((f) => !isProbe(f)).map((f) => str(f[1]))
        expect(bodies).not.toContain('not admitted')
        expect(bodies).not.toContain('revoked')
        expect(otherGot.messages).toEqual([])
      },
      TEST_TIMEOUT,
    )
  })
}
