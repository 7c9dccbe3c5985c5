/**
 * The canvas demo's edge as shipped: zero configuration admits only its own page's origin; a
 * shared token (ZINC_TOKEN) keeps out tabs without it. Upgrades are tried as a browser would
 * (with an Origin header); joins as a Node stand-in for a tab.
 */
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { Endpoint } from '@zinc/core'
import { WsClientTransport } from '@zinc/transport-ws'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { randomSession } from './edge.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SERVER = join(ROOT, 'examples', 'dist', 'canvas', 'server', 'main.js')

type CanvasServer = { url: string; port: number; close(): Promise<void> }
type Start = (options: Record<string, unknown>) => Promise<CanvasServer>

let server: CanvasServer | undefined
const closers: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const c of closers.splice(0)) await c().catch(() => {})
  await server?.close()
  server = undefined
})

async function start(options: Record<string, unknown> = {}): Promise<CanvasServer> {
  const { startCanvasServer } = (await import(SERVER)) as { startCanvasServer: Start }
  server = await startCanvasServer({ port: 0, ...options })
  return server
}

function upgrade(url: string, origin: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url}?zs=${randomSession()}`, 'zinc-sub.v1', { headers: { origin } })
    ws.on('error', () => {})
    ws.once('open', () => {
      ws.terminate()
      resolve(101)
    })
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
  })
}

describe('the canvas demo edge', () => {
  it('zero configuration: its own page’s origin may connect, another site’s may not', async () => {
    const s = await start()
    const out = `ws://127.0.0.1:${s.port}/zinc/out`
    expect(await upgrade(out, `http://127.0.0.1:${s.port}`)).toBe(101)
    expect(await upgrade(out, 'https://evil.example.net')).toBe(403)
  })

  it('with a token, a tab without it is refused with a clear error and one with it joins', async () => {
    const s = await start({ token: 'let-me-in' })
    const join = { inbound: `ws://127.0.0.1:${s.port}/zinc/in`, outbound: `ws://127.0.0.1:${s.port}/zinc/out` }
    const transport = new WsClientTransport({ WebSocket: WebSocket as never })
    closers.push(() => transport.close())
    await expect(Endpoint.start({ transport, join, joinTimeoutMs: 10_000 })).rejects.toThrow(/token is missing or wrong/)
    const tab = await Endpoint.start({ transport, join, token: 'let-me-in', joinTimeoutMs: 10_000 })
    closers.push(() => tab.close())
    expect(tab.role).toBe('client')
  })
})
