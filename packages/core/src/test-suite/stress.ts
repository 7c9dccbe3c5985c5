import { describe, expect, it } from 'vitest'
import { indexOf, numbered } from './bytes.js'
import type { Harness } from './harness.js'
import { awaitSubscribed, withoutProbes } from './probe.js'
import { TEST_TIMEOUT } from './setup.js'

/** Volume: nothing lost or reordered when the reader keeps up and the high-water mark is large. */
export function stressTests(harness: () => Harness): void {
  describe('stress', () => {
    it(
      '20,000 messages of 1 KB PUB→SUB all arrive, in order',
      async () => {
        const h = harness()
        const count = 20_000
        const options = { highWaterMark: 50_000 }
        const pub = await h.pub(await h.node(), undefined, options)
        const sub = await h.sub(await h.node(), pub.address, options)
        sub.subscribe('s')
        const received = h.collect(sub)
        await awaitSubscribed(h, pub, [received], 's')
        for (let i = 0; i < count; i++) await pub.send('s', numbered(i, 1024))
        await h.waitFor(() => withoutProbes(received).length >= count, 'all 20,000 messages arrive', h.waitMs * 3)
        const indexes = withoutProbes(received).map((f) => indexOf(f[1]))
        expect(indexes.length).toBe(count)
        // A loop instead of toEqual on 20,000 items: a failure message that names the first gap.
        const firstWrong = indexes.findIndex((value, i) => value !== i)
        expect(firstWrong, 'position of the first message out of order').toBe(-1)
      },
      TEST_TIMEOUT,
    )
  })
}
