import type { Frames } from '@zinc/core'

/** Reads a channel in the background. */
export function collect(source: AsyncIterable<Frames>): { messages: Frames[]; ended: () => boolean } {
  const messages: Frames[] = []
  let ended = false
  void (async () => {
    try {
      for await (const frames of source) messages.push(frames)
    } finally {
      ended = true
    }
  })()
  return { messages, ended: () => ended }
}

/** Polls `predicate` until it holds (fails after `ms`). */
export async function waitFor(predicate: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
}

/** Lets every queued microtask and immediate run: inproc delivery needs nothing more. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
}

/** Tracks whether a promise has settled. */
export function track(promise: Promise<unknown>): { settled: () => boolean } {
  let settled = false
  promise.then(
    () => (settled = true),
    () => (settled = true),
  )
  return { settled: () => settled }
}

export function body(index: number, size = 4): Uint8Array {
  const bytes = new Uint8Array(Math.max(4, size))
  new DataView(bytes.buffer).setUint32(0, index)
  return bytes
}

export function index(frame: Uint8Array | undefined): number {
  return frame ? new DataView(frame.buffer, frame.byteOffset, 4).getUint32(0) : -1
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s)
export const str = (b: Uint8Array | undefined): string => new TextDecoder().decode(b)
