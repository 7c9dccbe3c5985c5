import { describe, expect, it } from 'vitest'
import type { Frames } from '../transport.js'
import { indexOf, pattern, sameBytes, str, text } from './bytes.js'
import type { Harness } from './harness.js'
import { fillUntilStalled, range } from './probe.js'
import { TEST_TIMEOUT } from './setup.js'

/** High-water marks: a PUB never blocks and drops instead; a PUSH waits. */
export function backpressureTests(harness: () => Harness): void {
  describe('back-pressure', () => {
    it(
      'a PUB never blocks on a subscriber that does not read: it drops past the high-water mark',
      async () => {
        const h = harness()
        const pub = await h.pub(await h.node(), undefined, { highWaterMark: 10 })
        const sub = await h.sub(await h.node(), pub.address, { highWaterMark: 10 })
        sub.subscribe('')
        const reader = sub[Symbol.asyncIterator]()
        // Read exactly one message, to know the subscription reached the PUB; then stop reading.
        let first: Frames | undefined
        void reader.next().then((r) => (first = r.done ? undefined : r.value))
        await h.repeatUntil(
          () => pub.send('probe', text('p')),
          () => first !== undefined,
          'the subscription reaches the PUB',
        )

        // Large bodies, so kernel socket buffers on a real network cannot absorb all of them.
        const body = pattern(16 * 1024)
        const sent = 10_000
        const loop = async (): Promise<void> => {
          for (let i = 0; i < sent; i++) await pub.send('load', body)
        }
        await h.within(loop(), 'the 10,000 PUB sends complete (a PUB must never block)', Math.max(h.waitMs, 30_000))

        // Reading again drains what fit; a marker then proves the subscriber is live again.
        const received: Frames[] = []
        const drain = async (): Promise<void> => {
          for (let r = await reader.next(); !r.done; r = await reader.next()) received.push(r.value)
        }
        void drain()
        await h.repeatUntil(
          () => pub.send('mark', text('m')),
          () => received.some((f) => str(f[0]) === 'mark'),
          'the subscriber receives again after draining',
        )
        const load = received.filter((f) => str(f[0]) === 'load')
        expect(load.length, 'a slow subscriber loses what does not fit').toBeLessThan(sent)
        expect(load.every((f) => sameBytes(f[1], body))).toBe(true)
      },
      TEST_TIMEOUT,
    )

    it(
      'a PUSH send stays pending while the queue is full, and resumes when the reader drains',
      async () => {
        const h = harness()
        const pull = await h.pull(await h.node(), undefined, { highWaterMark: 5 })
        const push = await h.push(await h.node(), pull.address, { highWaterMark: 5 })
        const { resolved, stalled } = await fillUntilStalled(push)
        expect(stalled, 'one of the sends to a PULL that never reads stays pending').toBeDefined()
        expect(resolved).toBeGreaterThanOrEqual(1)

        const received = h.collect(pull)
        await h.within(stalled ?? Promise.resolve(), 'the pending send resolves once the PULL reads')
        await h.waitFor(() => received.count >= resolved + 1, 'every queued message arrives')
        expect(received.messages.map((f) => indexOf(f[0]))).toEqual(range(resolved + 1))
      },
      TEST_TIMEOUT,
    )
  })
}
