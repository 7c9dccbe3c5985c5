import { afterEach, beforeEach } from 'vitest'
import type { ChannelOptions, Frames, PubChannel, PullChannel, PushChannel, SubChannel, Transport } from '../transport.js'
import type { TransportSuiteSetup } from './setup.js'

interface Closable {
  close(): Promise<void>
}

/** Reads a channel in the background and keeps what arrived. */
export class Collector {
  readonly messages: Frames[] = []
  ended = false
  error: unknown = undefined

  constructor(source: AsyncIterable<Frames>) {
    void this.run(source)
  }

  get count(): number {
    return this.messages.length
  }

  private async run(source: AsyncIterable<Frames>): Promise<void> {
    try {
      for await (const frames of source) this.messages.push(frames)
    } catch (error) {
      this.error = error
    } finally {
      this.ended = true
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * Whether `promise` settles within `ms`. Used only to detect a send that stays pending, never
 * to assert speed: a slow machine can only make the detection happen later, not fail it.
 */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)))
  try {
    return await Promise.race([promise.then(() => true as const), timeout])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * One test's world: the transports (nodes) and channels it opened, closed after the test so
 * processes exit, plus condition-waiting helpers.
 */
export class Harness {
  readonly waitMs: number
  private readonly channels: Closable[] = []
  private readonly transports: Transport[] = []

  constructor(readonly setup: TransportSuiteSetup) {
    this.waitMs = setup.waitMs ?? 10_000
  }

  /** A new node. */
  async node(): Promise<Transport> {
    const transport = await this.setup.createTransport()
    this.transports.push(transport)
    return transport
  }

  address(): string {
    return this.setup.address()
  }

  async pull(t: Transport, address = this.address(), options?: ChannelOptions): Promise<PullChannel> {
    return this.track(await t.pull(address, options))
  }

  async pub(t: Transport, address = this.address(), options?: ChannelOptions): Promise<PubChannel> {
    return this.track(await t.pub(address, options))
  }

  async push(t: Transport, address: string, options?: ChannelOptions): Promise<PushChannel> {
    return this.track(await t.push(address, options))
  }

  async sub(t: Transport, address: string, options?: ChannelOptions): Promise<SubChannel> {
    return this.track(await t.sub(address, options))
  }

  track<T extends Closable>(channel: T): T {
    this.channels.push(channel)
    return channel
  }

  collect(source: AsyncIterable<Frames>): Collector {
    return new Collector(source)
  }

  /** Polls `predicate` until it holds; fails with `what` after `ms`. */
  async waitFor(predicate: () => boolean, what: string, ms = this.waitMs): Promise<void> {
    const deadline = Date.now() + ms
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting until ${what}`)
      await sleep(2)
    }
  }

  /**
   * Repeats `action` until `predicate` holds, as real code must while a subscription or a
   * reconnect propagates; fails with `what` after `ms`.
   */
  async repeatUntil(action: () => Promise<unknown>, predicate: () => boolean, what: string, ms = this.waitMs): Promise<void> {
    const deadline = Date.now() + ms
    for (;;) {
      await action()
      for (let i = 0; i < 10; i++) {
        if (predicate()) return
        await sleep(2)
      }
      if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms repeating until ${what}`)
    }
  }

  /** Awaits `promise`, failing with `what` after `ms` instead of hanging the run. */
  async within<T>(promise: Promise<T>, what: string, ms = this.waitMs): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting until ${what}`)), ms)
    })
    try {
      return await Promise.race([promise, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  /** Closes every channel, then every transport, then runs the setup's teardown. */
  async dispose(): Promise<void> {
    await Promise.allSettled(this.channels.splice(0).map((channel) => channel.close()))
    await Promise.allSettled(this.transports.splice(0).map((transport) => transport.close?.()))
    await this.setup.teardown?.()
  }
}

/** Registers per-test setup and cleanup; the returned getter gives the current test's harness. */
export function useHarness(setup: () => TransportSuiteSetup | Promise<TransportSuiteSetup>): () => Harness {
  let current: Harness | undefined
  beforeEach(async () => {
    current = new Harness(await setup())
  })
  afterEach(async () => {
    const harness = current
    current = undefined
    await harness?.dispose()
  })
  return () => {
    if (!current) throw new Error('The transport suite harness is only available inside a test')
    return current
  }
}
