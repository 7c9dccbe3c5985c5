import { describe, expect, it } from 'vitest'
import { indexOf, numbered, text } from './bytes.js'
import type { Harness } from './harness.js'
import { fillUntilStalled } from './probe.js'
import { TEST_TIMEOUT } from './setup.js'

async function rejection(promise: Promise<unknown>): Promise<{ code?: unknown; name?: unknown } | 'resolved'> {
  return promise.then(
    () => 'resolved' as const,
    (error: unknown) => error as { code?: unknown; name?: unknown },
  )
}

/**
 * What every transport does alike after close and on cancellation: subscribing to a closed SUB
 * throws `ChannelClosedError`, and a PUSH send given an `AbortSignal` rejects with
 * `AbortError` when the signal aborts before there was room (its message not sent, or sent
 * once when the transport had already handed it to its network library).
 */
export function cancelTests(harness: () => Harness): void {
  describe('after close and on abort', () => {
    it(
      "subscribe and unsubscribe on a closed SUB throw code 'ERR_CHANNEL_CLOSED'",
      async () => {
        const h = harness()
        const pub = await h.pub(await h.node())
        const sub = await h.sub(await h.node(), pub.address)
        sub.subscribe('t')
        await sub.close()
        for (const call of [() => sub.subscribe('x'), () => sub.unsubscribe('t')]) {
          let thrown: unknown
          try {
            call()
          } catch (error) {
            thrown = error
          }
          expect((thrown as { code?: unknown } | undefined)?.code).toBe('ERR_CHANNEL_CLOSED')
          expect(String(thrown)).toMatch(/closed/)
        }
      },
      TEST_TIMEOUT,
    )

    it(
      "a PUSH send with an aborted signal rejects with code 'ERR_ABORTED' and sends nothing",
      async () => {
        const h = harness()
        const pull = await h.pull(await h.node())
        const push = await h.push(await h.node(), pull.address)
        const received = h.collect(pull)
        const aborted = await rejection(push.send(text('never'), { signal: AbortSignal.abort() }))
        expect(aborted !== 'resolved' && aborted.code).toBe('ERR_ABORTED')
        expect(aborted !== 'resolved' && aborted.name).toBe('AbortError')
        await push.send(numbered(1))
        await h.waitFor(() => received.count === 1, 'the next message arrives')
        expect(indexOf(received.messages[0]![0])).toBe(1)
      },
      TEST_TIMEOUT,
    )

    it(
      'a PUSH send waiting at the high-water mark rejects with AbortError when aborted; its message arrives at most once',
      async () => {
        const h = harness()
        const pull = await h.pull(await h.node(), undefined, { highWaterMark: 5 })
        const push = await h.push(await h.node(), pull.address, { highWaterMark: 5 })
        const controller = new AbortController()
        // Fill the queue until a send stays pending; every send carries the signal.
        const { resolved, stalled: waiting } = await fillUntilStalled(push, { signal: controller.signal })
        expect(waiting, 'one of the sends to a PULL that never reads stays pending').toBeDefined()
        controller.abort()
        const result = await h.within(rejection(waiting!), 'the aborted send settles')
        expect(result !== 'resolved' && result.code).toBe('ERR_ABORTED')
        // Reading again: what was queued arrives, the aborted message does not, later ones do.
        const received = h.collect(pull)
        const after = push.send(numbered(resolved + 1, 8))
        await h.within(after, 'a send after the abort resolves once the PULL reads')
        await h.waitFor(() => received.messages.some((f) => indexOf(f[0]) === resolved + 1), 'the message after the abort arrives')
        const indexes = received.messages.map((f) => indexOf(f[0]))
        // Not sent, or (ZeroMQ: it was already in the socket, which cannot take it back) sent once.
        expect(indexes.filter((i) => i === resolved).length).toBeLessThanOrEqual(1)
        expect(indexes.filter((i) => i < resolved)).toEqual([...Array(resolved).keys()])
      },
      TEST_TIMEOUT,
    )
  })
}
