import { describe, expect, it } from 'vitest'
import { numbered, text } from './bytes.js'
import type { Harness } from './harness.js'
import { awaitSubscribed } from './probe.js'
import { TEST_TIMEOUT } from './setup.js'

async function rejectionCode(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => 'resolved',
    (error: unknown) => (error as { code?: unknown }).code,
  )
}

/** Close semantics: ending iterators, rejecting sends, idempotence, and reconnecting peers. */
export function closeTests(harness: () => Harness): void {
  describe('close', () => {
    it(
      'a pending next() resolves done when its channel closes (PULL and SUB)',
      async () => {
        const h = harness()
        const [a, b] = [await h.node(), await h.node()]
        const pull = await h.pull(a)
        const pub = await h.pub(a)
        const sub = await h.sub(b, pub.address)
        sub.subscribe('')
        for (const channel of [pull, sub]) {
          const pending = channel[Symbol.asyncIterator]().next()
          await channel.close()
          const result = await h.within(pending, 'the pending next() settles after close')
          expect(result.done).toBe(true)
          expect(channel.closed).toBe(true)
        }
      },
      TEST_TIMEOUT,
    )

    it(
      'a for-await loop over a channel ends when it closes, and a closed channel iterates nothing',
      async () => {
        const h = harness()
        const pull = await h.pull(await h.node())
        const loop = h.collect(pull)
        await pull.close()
        await h.waitFor(() => loop.ended, 'the for-await loop ends')
        expect(loop.error).toBeUndefined()
        const again = h.collect(pull)
        await h.waitFor(() => again.ended, 'iterating a closed channel ends at once')
        expect(again.count).toBe(0)
      },
      TEST_TIMEOUT,
    )

    it(
      "send after close rejects with code 'ERR_CHANNEL_CLOSED' (PUSH and PUB)",
      async () => {
        const h = harness()
        const [a, b] = [await h.node(), await h.node()]
        const pull = await h.pull(a)
        const pub = await h.pub(a)
        const push = await h.push(b, pull.address)
        await push.close()
        await pub.close()
        expect(await rejectionCode(push.send(text('late')))).toBe('ERR_CHANNEL_CLOSED')
        expect(await rejectionCode(pub.send('t', text('late')))).toBe('ERR_CHANNEL_CLOSED')
      },
      TEST_TIMEOUT,
    )

    it(
      'close is idempotent, sequentially and concurrently, for every pattern',
      async () => {
        const h = harness()
        const [a, b] = [await h.node(), await h.node()]
        const pull = await h.pull(a)
        const pub = await h.pub(a)
        const push = await h.push(b, pull.address)
        const sub = await h.sub(b, pub.address)
        for (const channel of [push, sub, pull, pub]) {
          await Promise.all([channel.close(), channel.close()])
          await channel.close()
          expect(channel.closed).toBe(true)
        }
      },
      TEST_TIMEOUT,
    )

    it(
      'a PUSH reaches a new PULL bound at the same address after the old one closed',
      async () => {
        const h = harness()
        const [a, b, c] = [await h.node(), await h.node(), await h.node()]
        const first = await h.pull(a)
        const firstReceived = h.collect(first)
        const push = await h.push(b, first.address)
        await push.send(numbered(0))
        await h.waitFor(() => firstReceived.count === 1, 'the first PULL receives')
        await first.close()

        const second = await h.pull(c, first.address)
        const received = h.collect(second)
        let sent = 0
        await h.repeatUntil(
          () => push.send(numbered(++sent)),
          () => received.count > 0,
          'the PUSH reconnects',
        )
      },
      TEST_TIMEOUT,
    )

    it(
      'a SUB reaches a new PUB bound at the same address, keeping its subscriptions',
      async () => {
        const h = harness()
        const [a, b, c] = [await h.node(), await h.node(), await h.node()]
        const first = await h.pub(a)
        const sub = await h.sub(b, first.address)
        sub.subscribe('t')
        const received = h.collect(sub)
        await awaitSubscribed(h, first, [received], 't')
        await first.close()

        const second = await h.pub(c, first.address)
        const before = received.count
        await h.repeatUntil(
          () => second.send('t/again', text('x')),
          () => received.count > before,
          'the SUB reconnects',
        )
      },
      TEST_TIMEOUT,
    )
  })
}
