/**
 * A gated PUB keeps what it publishes to a session it admitted moments ago until that session's
 * SUB subscribes: a peer's HELLO (on its PUSH) often overtakes its subscriptions (on its SUB),
 * and the welcome published at once must not be lost to that race. Bounded in frames and time;
 * an ungated PUB drops as ZeroMQ does.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { LATE_SUBSCRIBER_FRAMES, LateSubscribers } from '../src/late-subscribers.js'
import { WsServerTransport, newSession } from '../src/index.js'
import { Cleanup, collect, str, text, waitFor } from './helpers.js'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

const transport = (): WsServerTransport => cleanup.add(new WsServerTransport(), (t) => t.close())

describe('a gated PUB and a subscription that arrives after the answer', () => {
  it('delivers what was published to the admitted session before its SUB subscribed, once, in order', async () => {
    const host = transport()
    const pub = await host.pub('ws://127.0.0.1:*/out', { gated: true })
    const session = newSession()
    // The HELLO came first: admitted, answered, and only then does the SUB connect.
    pub.admit(session, 'e/me')
    await pub.send('e/me', text('welcome'))
    await pub.send('e/me', text('roster'))
    await pub.send('e/someone-else', text('not mine'))
    await pub.send('c', text('not admitted'))
    expect(host.stats().heldForSubscription).toBe(2)

    const client = transport()
    const sub = await client.sub(pub.address, { session })
    const got = collect(sub)
    sub.subscribe('c')
    sub.subscribe('e/me')
    await waitFor(() => got.length >= 2, 'the frames kept for the session')
    await pub.send('e/me', text('after'))
    await waitFor(() => got.length >= 3, 'a frame sent once subscribed')
    await new Promise((r) => setTimeout(r, 50))
    expect(got.map((f) => `${str(f[0])}:${str(f[1])}`)).toEqual(['e/me:welcome', 'e/me:roster', 'e/me:after'])
    expect(host.stats().heldForSubscription).toBe(2)
  })

  it('keeps at most its share per session (the rest is dropped and counted), and nothing once revoked', async () => {
    const host = transport()
    const pub = await host.pub('ws://127.0.0.1:*/out', { gated: true })
    const session = newSession()
    const revoked = newSession()
    pub.admit(session, 'e/a')
    pub.admit(revoked, 'e/b')
    for (let i = 0; i < LATE_SUBSCRIBER_FRAMES + 5; i++) await pub.send('e/a', text(`m${i}`))
    await pub.send('e/b', text('lost'))
    pub.revoke(revoked)
    expect(host.stats().droppedByHwm).toBe(5)

    const client = transport()
    const sub = await client.sub(pub.address, { session })
    const other = await client.sub(pub.address, { session: revoked })
    const got = collect(sub)
    const otherGot = collect(other)
    sub.subscribe('e/a')
    other.subscribe('e/b')
    await waitFor(() => got.length >= LATE_SUBSCRIBER_FRAMES, 'the kept frames')
    await new Promise((r) => setTimeout(r, 50))
    expect(got.map((f) => str(f[1]))).toEqual(Array.from({ length: LATE_SUBSCRIBER_FRAMES }, (_, i) => `m${i}`))
    expect(otherGot).toEqual([])
  })

  it('an ungated PUB keeps nothing: a SUB misses what was published before it subscribed', async () => {
    const host = transport()
    const pub = await host.pub('ws://127.0.0.1:*/out')
    const session = newSession()
    await pub.send('e/me', text('before'))
    const client = transport()
    const sub = await client.sub(pub.address, { session })
    const got = collect(sub)
    sub.subscribe('e/me')
    // Sent until one arrives: the first ones may go before the subscription reached the PUB.
    for (let i = 0; got.length === 0 && i < 2000; i++) {
      await pub.send('e/me', text('after'))
      await new Promise((r) => setTimeout(r, 5))
    }
    expect(got.every((f) => str(f[1]) === 'after')).toBe(true)
    expect(host.stats().heldForSubscription).toBe(0)
  })
})

describe('LateSubscribers', () => {
  it('keeps frames only within the wait after an admission; another admission starts it again', () => {
    const late = new LateSubscribers(1 << 20, 1000)
    const frame = new Uint8Array(10)
    late.admitted('s', 'e/x', 0)
    expect(late.sessionsFor('e/x', 500)).toEqual(['s'])
    expect(late.sessionsFor('e/y', 500)).toEqual([])
    expect(late.hold('s', 'e/x', frame, 500)).toBe(true)
    expect(late.bytes).toBe(10)
    // The wait is over: no session waits on the topic any more, and the frame kept is gone.
    expect(late.sessionsFor('e/x', 1001)).toEqual([])
    expect(late.waiting).toBe(false)
    expect(late.take('s', 'e/x', 1501)).toEqual([])
    expect(late.bytes).toBe(0)
    late.admitted('s', 'e/x', 2000)
    expect(late.sessionsFor('e/x', 2500)).toEqual(['s'])
    expect(late.hold('s', 'e/x', frame, 2500)).toBe(true)
    expect(late.take('s', 'c', 2600)).toEqual([])
    expect(late.take('s', 'e/', 2600).map((h) => h.topic)).toEqual(['e/x'])
    expect(late.bytes).toBe(0)
  })

  it('bounds the bytes it keeps over all sessions', () => {
    const late = new LateSubscribers(25, 1000)
    late.admitted('a', 'e/a', 0)
    late.admitted('b', 'e/b', 0)
    expect(late.hold('a', 'e/a', new Uint8Array(20), 1)).toBe(true)
    expect(late.hold('b', 'e/b', new Uint8Array(10), 1)).toBe(false)
    late.revoked('a')
    expect(late.bytes).toBe(0)
    expect(late.hold('b', 'e/b', new Uint8Array(10), 1)).toBe(true)
  })
})
