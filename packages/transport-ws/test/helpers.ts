import type { Frames } from '@zinc/core'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export const text = (value: string): Uint8Array => encoder.encode(value)
export const str = (bytes: Uint8Array | undefined): string => (bytes ? decoder.decode(bytes) : '<missing>')

/** Polls `predicate` until it holds; fails naming `what` after `ms`. */
export async function waitFor(predicate: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Repeats `action` until `predicate` holds (while a reconnect or subscription propagates). */
export async function repeatUntil(action: () => Promise<unknown>, predicate: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    await action()
    for (let i = 0; i < 10; i++) {
      if (predicate()) return
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms repeating until ${what}`)
  }
}

/** Reads a channel in the background. */
export function collect(source: AsyncIterable<Frames>): Frames[] {
  const messages: Frames[] = []
  void (async () => {
    for await (const frames of source) messages.push(frames)
  })()
  return messages
}

/** Runs cleanups in reverse order after a test, even when it failed. */
export class Cleanup {
  private readonly steps: Array<() => unknown> = []
  add<T>(value: T, close: (value: T) => unknown): T {
    this.steps.push(() => close(value))
    return value
  }
  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse())
      await Promise.resolve()
        .then(step)
        .catch(() => {})
  }
}
