import { rmSync } from 'node:fs'
import type { Frames, ReceiveChannel } from '@zinc/core'

/** Polls `condition` until it holds; fails after a generous limit instead of hanging. */
export async function waitFor(condition: () => boolean, what: string, limitMs = 15_000): Promise<void> {
  const deadline = Date.now() + limitMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`)
    await sleep(5)
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Reads `channel` in the background into an array, until the channel closes. */
export function drain(channel: ReceiveChannel): { frames: Frames[]; done: Promise<void> } {
  const frames: Frames[] = []
  const done = (async () => {
    for await (const message of channel) frames.push(message)
  })()
  return { frames, done }
}

export const text = (bytes: Uint8Array | undefined): string => (bytes === undefined ? '' : Buffer.from(bytes).toString('utf8'))
export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)

let ipcCounter = 0
const ipcPaths: string[] = []

/** A fresh ipc:// address under /tmp, removed by {@link removeIpcFiles}. */
export function ipcAddress(): string {
  const path = `/tmp/zinc-${process.pid}-${ipcCounter++}.sock`
  ipcPaths.push(path)
  return `ipc://${path}`
}

export function removeIpcFiles(): void {
  for (const path of ipcPaths.splice(0)) rmSync(path, { force: true })
}
