/**
 * What the cluster example's processes share: the document's shape, how a process reads its
 * command-line options, reads commands on stdin, and shuts down on SIGTERM.
 *
 * Every process writes two kinds of lines on stdout: readable ones for people, and JSON
 * lines (starting with `{`) for the launcher, e.g. `{"type":"ready",...}`.
 */
import { createHash } from 'node:crypto'
import { createInterface } from 'node:readline'
import type { Endpoint } from '@zinc/core'
import type { ZmqTransport } from '@zinc/transport-zmq'

/** The shared document: every client pushes unique tokens and overwrites a few shared keys. */
export type Shared = { tokens: string[]; keys: Record<string, string> }
export const DOC_ID = 'shared'
export const INITIAL: Shared = { tokens: [], keys: {} }

/** Writes one machine-readable line for the launcher. */
export function report(message: { type: string } & Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`)
}

/** A hash of the state that does not depend on the order keys were inserted in. */
export function stateHash(state: unknown): string {
  return createHash('sha256').update(canonical(state)).digest('hex').slice(0, 16)
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

/** Runs `action` as soon as `ready()` is true, checking every 20 ms meanwhile. */
export function when(ready: () => boolean, action: () => void): void {
  if (ready()) return action()
  const timer = setInterval(() => {
    if (!ready()) return
    clearInterval(timer)
    action()
  }, 20)
}

/** Calls `onCommand` for every line the launcher writes on stdin (`go`, `report 42`, …). */
export function readCommands(onCommand: (command: string, arg: string | undefined) => void): void {
  const lines = createInterface({ input: process.stdin })
  lines.on('line', (line) => {
    const [command, arg] = line.trim().split(/\s+/)
    if (command) onCommand(command, arg)
  })
}

/**
 * Closes the endpoint, then the transport (so no socket keeps the process alive), on SIGTERM,
 * SIGINT, or when the launcher goes away (stdin ends). Exits with `code` when done.
 */
export function closeOnSignal(name: string, endpoint: Endpoint, transport: ZmqTransport): () => Promise<void> {
  let closing: Promise<void> | undefined
  const shutdown = (why: string) =>
    (closing ??= (async () => {
      console.log(`${name}: ${why}, closing`)
      await endpoint.close()
      await transport.close()
      report({ type: 'closed', name })
      process.exit(0)
    })())
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
  process.once('SIGINT', () => void shutdown('SIGINT'))
  process.stdin.once('end', () => void shutdown('launcher gone'))
  return () => shutdown('asked to stop')
}
