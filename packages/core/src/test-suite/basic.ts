import { describe, expect, it } from 'vitest'
import { indexOf, numbered, pattern, sameBytes, senderOf, str } from './bytes.js'
import type { PushChannel } from '../transport.js'
import type { Collector, Harness } from './harness.js'
import { awaitSubscribed, expectBindRejected, range, withoutProbes } from './probe.js'
import { TEST_TIMEOUT } from './setup.js'

/** Addresses, the four patterns' basic delivery, order and byte-exact frames. */
export function basicTests(harness: () => Harness): void {
  describe('basic', () => {
    it(
      'resolves bound addresses, and connected channels report them',
      async () => {
        const h = harness()
        const [a, b] = [await h.node(), await h.node()]
        const pull = await h.pull(a)
        const pub = await h.pub(a)
        for (const channel of [pull, pub]) {
          expect(typeof channel.address).toBe('string')
          expect(channel.address, 'a bound address is resolved').not.toContain('*')
          expect(channel.closed).toBe(false)
        }
        expect(pull.address).not.toBe(pub.address)
        const push = await h.push(b, pull.address)
        const sub = await h.sub(b, pub.address)
        expect(push.address).toBe(pull.address)
        expect(sub.address).toBe(pub.address)
        expect(push.closed || sub.closed).toBe(false)
      },
      TEST_TIMEOUT,
    )

    it(
      'rejects binding an address that is already bound, and keeps the first binding working',
      async () => {
        const h = harness()
        const [a, b, c] = [await h.node(), await h.node(), await h.node()]
        const pull = await h.pull(a)
        await expectBindRejected(h.pull(a, pull.address), 'a second PULL on the same transport')
        await expectBindRejected(h.pull(b, pull.address), 'a PULL on another node')
        await expectBindRejected(h.pub(b, pull.address), 'a PUB on a PULL address')
        const pub = await h.pub(a)
        await expectBindRejected(h.pub(b, pub.address), 'a second PUB')

        const received = h.collect(pull)
        const push = await h.push(c, pull.address)
        await push.send(numbered(1))
        await h.waitFor(() => received.count === 1, 'the first PULL still receives')
      },
      TEST_TIMEOUT,
    )

    it(
      'PUSH/PULL keeps the order of one connection (2,000 messages)',
      async () => {
        const h = harness()
        const [a, b] = [await h.node(), await h.node()]
        const pull = await h.pull(a)
        const received = h.collect(pull)
        const push = await h.push(b, pull.address)
        for (let i = 0; i < 2000; i++) await push.send(numbered(i))
        await h.waitFor(() => received.count >= 2000, 'all 2,000 messages arrive')
        expect(received.messages.every((frames) => frames.length === 1)).toBe(true)
        expect(received.messages.map((frames) => indexOf(frames[0]))).toEqual(range(2000))
      },
      TEST_TIMEOUT,
    )

    it(
      'many PUSH channels into one PULL: everything arrives, order kept per sender',
      async () => {
        const h = harness()
        const pull = await h.pull(await h.node())
        const received = h.collect(pull)
        const pushes: PushChannel[] = []
        for (let s = 0; s < 4; s++) pushes.push(await h.push(await h.node(), pull.address))
        await Promise.all(
          pushes.map(async (push, sender) => {
            for (let i = 0; i < 500; i++) await push.send(numbered(i, 8, sender))
          }),
        )
        await h.waitFor(() => received.count >= 2000, 'all 4 × 500 messages arrive')
        expect(received.count).toBe(2000)
        for (let sender = 0; sender < 4; sender++) {
          const mine = received.messages.filter((f) => senderOf(f[0]) === sender).map((f) => indexOf(f[0]))
          expect(mine, `messages of sender ${sender}`).toEqual(range(500))
        }
      },
      TEST_TIMEOUT,
    )

    it(
      'PUB fans out to many SUBs, in order',
      async () => {
        const h = harness()
        const pub = await h.pub(await h.node())
        const collectors: Collector[] = []
        for (let s = 0; s < 5; s++) {
          const sub = await h.sub(await h.node(), pub.address)
          sub.subscribe('')
          collectors.push(h.collect(sub))
        }
        await awaitSubscribed(h, pub, collectors, 'fan')
        for (let i = 0; i < 200; i++) await pub.send('fan', numbered(i))
        await h.waitFor(() => collectors.every((c) => withoutProbes(c).length >= 200), 'every subscriber got all 200 messages')
        for (const collector of collectors) {
          const messages = withoutProbes(collector)
          expect(messages.every((f) => f.length === 2 && str(f[0]) === 'fan')).toBe(true)
          expect(messages.map((f) => indexOf(f[1]))).toEqual(range(200))
        }
      },
      TEST_TIMEOUT,
    )

    it(
      'a PUB without subscribers accepts sends',
      async () => {
        const h = harness()
        const pub = await h.pub(await h.node())
        for (let i = 0; i < 100; i++) await pub.send('nobody', numbered(i))
      },
      TEST_TIMEOUT,
    )

    const bodies = (): Uint8Array[] => [pattern(1024), new Uint8Array(0), Uint8Array.of(0), Uint8Array.of(0, 0, 0, 255, 0), pattern(1 << 20, 7)]

    it(
      'PUSH/PULL frames are byte-exact Uint8Arrays (zero bytes, empty, 1 MB)',
      async () => {
        const h = harness()
        const pull = await h.pull(await h.node())
        const received = h.collect(pull)
        const push = await h.push(await h.node(), pull.address)
        const sent = bodies()
        for (const body of sent) await push.send(body)
        await h.waitFor(() => received.count >= sent.length, 'every body arrives')
        expect(received.count).toBe(sent.length)
        sent.forEach((body, i) => {
          const frames = received.messages[i] ?? []
          expect(frames.length).toBe(1)
          expect(frames[0]).toBeInstanceOf(Uint8Array)
          expect(sameBytes(frames[0], body), `body ${i} (${body.byteLength} bytes) is byte-exact`).toBe(true)
        })
      },
      TEST_TIMEOUT,
    )

    it(
      'PUB/SUB frames are byte-exact Uint8Arrays (zero bytes, empty, 1 MB)',
      async () => {
        const h = harness()
        const pub = await h.pub(await h.node())
        const sub = await h.sub(await h.node(), pub.address)
        sub.subscribe('bin')
        const received = h.collect(sub)
        await awaitSubscribed(h, pub, [received], 'bin')
        const sent = bodies()
        for (const body of sent) await pub.send('bin/ü', body)
        await h.waitFor(() => withoutProbes(received).length >= sent.length, 'every body arrives')
        const messages = withoutProbes(received)
        expect(messages.length).toBe(sent.length)
        sent.forEach((body, i) => {
          const frames = messages[i] ?? []
          expect(frames.length).toBe(2)
          expect(frames[0]).toBeInstanceOf(Uint8Array)
          expect(frames[1]).toBeInstanceOf(Uint8Array)
          expect(str(frames[0])).toBe('bin/ü')
          expect(sameBytes(frames[1], body), `body ${i} (${body.byteLength} bytes) is byte-exact`).toBe(true)
        })
      },
      TEST_TIMEOUT,
    )
  })
}
