import { expect } from 'vitest'
import type { Frames, PubChannel, PushChannel, SendOptions } from '../transport.js'
import { numbered, sameBytes, text } from './bytes.js'
import { settlesWithin, type Collector, type Harness } from './harness.js'

/** The body of probe messages, sent until a subscription is known to have reached the PUB. */
export const PROBE = text('zinc-suite-probe')

export function isProbe(frames: Frames): boolean {
  return sameBytes(frames[1], PROBE)
}

/** Messages that are not probes. */
export function withoutProbes(collector: Collector): Frames[] {
  return collector.messages.filter((frames) => !isProbe(frames))
}

/**
 * Publishes probes on `topic` until every collector got one. Subscriptions travel to the PUB
 * asynchronously on a real network; once a probe arrived, everything published later on a
 * matching topic arrives too (order is kept per connection).
 */
export async function awaitSubscribed(h: Harness, pub: PubChannel, collectors: Collector[], topic: string): Promise<void> {
  await h.repeatUntil(
    () => pub.send(topic, PROBE),
    () => collectors.every((c) => c.messages.some(isProbe)),
    `a probe on "${topic}" reaches every subscriber`,
  )
}

/** Binding `promise` must reject: with AddressInUseError, or BindError where the OS says less. */
export async function expectBindRejected(promise: Promise<unknown>, what: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as { code?: unknown },
  )
  expect(error, `${what} must reject`).toBeDefined()
  expect(['ERR_ADDRESS_IN_USE', 'ERR_BIND'], `${what}: error code`).toContain(error?.code)
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i)
}

/** How long a send may take before it counts as "staying pending" (detection, not assertion). */
export const STALL_MS = 250

/**
 * Sends numbered 64 KB messages (a real network's kernel buffers fill after a few hundred) on
 * `push`, towards a PULL that does not read, until one stays pending. Returns how many
 * resolved and the send left pending (undefined if all `limit` resolved). `options` go with
 * every send.
 */
export async function fillUntilStalled(push: PushChannel, options?: SendOptions, limit = 2000): Promise<{ resolved: number; stalled: Promise<void> | undefined }> {
  let resolved = 0
  while (resolved < limit) {
    const send = push.send(numbered(resolved, 64 * 1024), options)
    send.catch(() => {}) // observed by the caller; this only keeps an early failure from going unhandled
    if (await settlesWithin(send, STALL_MS)) resolved++
    else return { resolved, stalled: send }
  }
  return { resolved, stalled: undefined }
}
