import { describe, expect, it } from 'vitest'
import type { Frames, SubChannel } from '../transport.js'
import { indexOf, numbered, sameBytes, str, text } from './bytes.js'
import type { Collector, Harness } from './harness.js'
import { awaitSubscribed, withoutProbes } from './probe.js'
import { TEST_TIMEOUT } from './setup.js'

const END = text('zinc-suite-end')
const isEnd = (frames: Frames): boolean => sameBytes(frames[1], END)

/** Topic prefix filtering, subscribe and unsubscribe. */
export function topicTests(harness: () => Harness): void {
  describe('topics', () => {
    it(
      'filters by topic prefix, and drops what was published before subscribing',
      async () => {
        const h = harness()
        const pub = await h.pub(await h.node())
        const cases = [
          { prefix: 'd/a', expected: ['d/a', 'd/ab'] },
          { prefix: 'd/b', expected: ['d/b'] },
          { prefix: 'c', expected: ['c', 'cat'] },
        ]
        const subs: Array<{ sub: SubChannel; prefix: string; received: Collector }> = []
        for (const { prefix } of cases) {
          const sub = await h.sub(await h.node(), pub.address)
          subs.push({ sub, prefix, received: h.collect(sub) })
        }
        // Nobody subscribed yet: these must never arrive.
        for (const { prefix } of cases) await pub.send(prefix, text('before'))
        for (const { sub, prefix, received } of subs) {
          sub.subscribe(prefix)
          await awaitSubscribed(h, pub, [received], prefix)
        }
        for (const topic of ['d/b', 'c', 'd/a', 'd/ab', 'd', 'x/d/a', 'cat', '']) await pub.send(topic, text(topic))
        // Order is kept per connection, so once END arrived everything before it did too.
        for (const { prefix } of cases) await pub.send(prefix, END)
        await h.waitFor(() => subs.every(({ received }) => received.messages.some(isEnd)), 'every subscriber got END')
        cases.forEach(({ prefix, expected }, i) => {
          const messages = withoutProbes(subs[i]!.received).filter((f) => !isEnd(f))
          expect(
            messages.map((f) => str(f[0])),
            `topics received by "${prefix}"`,
          ).toEqual(expected)
          expect(messages.map((f) => str(f[1]))).toEqual(expected)
        })
      },
      TEST_TIMEOUT,
    )

    it(
      "the empty prefix '' receives everything",
      async () => {
        const h = harness()
        const pub = await h.pub(await h.node())
        const sub = await h.sub(await h.node(), pub.address)
        sub.subscribe('')
        const received = h.collect(sub)
        await awaitSubscribed(h, pub, [received], 'any')
        const topics = ['', 'x', 'd/a', 'e/0123', 'ü/☃', 'c']
        for (const topic of topics) await pub.send(topic, text(topic))
        await pub.send('end', END)
        await h.waitFor(() => received.messages.some(isEnd), 'END arrives')
        const messages = withoutProbes(received).filter((f) => !isEnd(f))
        expect(messages.map((f) => str(f[0]))).toEqual(topics)
      },
      TEST_TIMEOUT,
    )

    it(
      'after unsubscribe, nothing new arrives on that prefix; other subscriptions go on',
      async () => {
        const h = harness()
        const pub = await h.pub(await h.node())
        const sub = await h.sub(await h.node(), pub.address)
        sub.subscribe('')
        sub.subscribe('keep')
        const received = h.collect(sub)
        await awaitSubscribed(h, pub, [received], 'other')
        sub.unsubscribe('')

        const arrived = (topic: string, index: number): boolean => withoutProbes(received).some((f) => str(f[0]) === topic && indexOf(f[1]) === index)
        // The unsubscription travels asynchronously. 'other' #r is sent before 'keep' #r on the
        // same connection, so 'keep' #r without 'other' #r proves 'other' is filtered from r on.
        let round = 0
        let cutoff = -1
        await h.repeatUntil(
          async () => {
            round++
            await pub.send('other', numbered(round))
            await pub.send('keep', numbered(round))
          },
          () => {
            for (let r = 1; r <= round; r++) {
              if (arrived('keep', r) && !arrived('other', r)) {
                cutoff = r
                return true
              }
            }
            return false
          },
          "the unsubscription reaches the publisher ('other' stops arriving)",
        )
        const last = round + 20
        while (round < last) {
          round++
          await pub.send('other', numbered(round))
          await pub.send('keep', numbered(round))
        }
        await h.waitFor(() => arrived('keep', last), "the last 'keep' arrives")
        const lateOthers = withoutProbes(received).filter((f) => str(f[0]) === 'other' && indexOf(f[1]) >= cutoff)
        expect(lateOthers.length, "'other' messages after the unsubscription took effect").toBe(0)
        for (let r = cutoff; r <= last; r++) expect(arrived('keep', r), `'keep' #${r} arrives`).toBe(true)
      },
      TEST_TIMEOUT,
    )
  })
}
