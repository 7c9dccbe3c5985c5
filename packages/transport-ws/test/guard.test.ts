/**
 * The bound side as a deployment needs it: sessions pair a peer's PUSH and SUB, a gated PUB
 * delivers only admitted topics, and upgrades are checked for Origin and per-IP count; idle
 * connections and trickled half-messages are dropped; wss works with a TLS option.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ReceivedFrames } from '@zinc/core'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { WsServerTransport, newSession, type WsServerTransportOptions } from '../src/index.js'
import { Cleanup, collect, repeatUntil, str, text, waitFor } from './helpers.js'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

const server = (options?: WsServerTransportOptions): WsServerTransport => cleanup.add(new WsServerTransport(options), (t) => t.close())

/** Attempts an upgrade; resolves with the HTTP status of a refusal, or 101 when it opened. */
function attempt(url: string, protocol: string, headers: Record<string, string> = {}, options: Record<string, unknown> = {}): Promise<{ status: number; ws?: WebSocket; body?: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, protocol, { headers, ...options })
    ws.on('error', () => {})
    ws.once('open', () => {
      cleanup.add(ws, (w) => w.terminate())
      resolve({ status: 101, ws })
    })
    ws.once('unexpected-response', (_request, response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => (body += chunk.toString()))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
    })
  })
}

describe('sessions and gating', () => {
  it('a PULL reports the session a PUSH presented; a gated PUB delivers only admitted topics to that session', async () => {
    const host = server()
    const pull = await host.pull('ws://127.0.0.1:*/in')
    const port = new URL(pull.address).port
    const pub = await host.pub(`ws://127.0.0.1:${port}/out`, { gated: true })
    const client = server()
    const session = newSession()
    const other = newSession()
    const push = await client.push(pull.address, { session })
    const sub = await client.sub(pub.address, { session })
    const stranger = await client.sub(pub.address, { session: other })
    sub.subscribe('')
    stranger.subscribe('')
    const pulled = collect(pull) as ReceivedFrames[]
    const got = collect(sub)
    const strangerGot = collect(stranger)
    await push.send(text('hello'))
    await waitFor(() => pulled.length === 1, 'the pushed message')
    expect(pulled[0]!.peer).toMatchObject({ session, remoteAddress: expect.stringMatching(/127\.0\.0\.1/) })
    expect(pull.isConnected(session)).toBe(true)
    expect(pull.isConnected(other)).toBe(false)

    pub.admit(session, 'e/me')
    await repeatUntil(
      () => pub.send('e/me', text('for me')),
      () => got.length > 0,
      'the admitted topic',
    )
    await pub.send('c', text('not admitted'))
    await pub.send('e/someone-else', text('not mine'))
    pub.admit(session, 'c')
    await repeatUntil(
      () => pub.send('c', text('control')),
      () => got.some((f) => str(f[1]) === 'control'),
      'the control topic once admitted',
    )
    pub.revoke(session)
    await pub.send('c', text('after revoke'))
    await pub.send('e/me', text('after revoke'))
    // The stranger subscribed to everything and got nothing; the session got only what it was admitted to.
    await new Promise((r) => setTimeout(r, 100))
    expect(strangerGot).toEqual([])
    const topics = new Set(got.map((f) => str(f[0])))
    expect([...topics].sort()).toEqual(['c', 'e/me'])
    expect(got.some((f) => str(f[1]) === 'after revoke' || str(f[1]) === 'not mine' || str(f[1]) === 'not admitted')).toBe(false)
    expect(host.stats().gatedOut).toBeGreaterThan(0)
  })

  it('a malformed session is refused at the upgrade', async () => {
    const host = server()
    const pull = await host.pull('ws://127.0.0.1:*/in')
    const result = await attempt(`${pull.address}?zs=short`, 'zinc-push.v1')
    expect(result.status).toBe(400)
    expect(result.body).toMatch(/zs parameter/)
  })
})

describe('admission: Origin, connections per IP, idle time', () => {
  it('an Origin not on the allow-list gets 403; an allowed one and a non-browser client get in', async () => {
    const host = server({ allowedOrigins: ['https://app.example.com'] })
    const pull = await host.pull('ws://127.0.0.1:*/in')
    const evil = await attempt(pull.address, 'zinc-push.v1', { origin: 'https://evil.example.net' })
    expect(evil.status).toBe(403)
    expect(evil.body).toMatch(/evil\.example\.net is not allowed.*allowedOrigins/)
    expect((await attempt(pull.address, 'zinc-push.v1', { origin: 'https://app.example.com' })).status).toBe(101)
    expect((await attempt(pull.address, 'zinc-push.v1')).status).toBe(101)
    expect(host.stats().originRefused).toBe(1)
  })

  it('past maxConnectionsPerIp upgrades get 429 until one closes', async () => {
    const host = server({ maxConnectionsPerIp: 3 })
    const pull = await host.pull('ws://127.0.0.1:*/in')
    const open = []
    for (let i = 0; i < 3; i++) open.push(await attempt(pull.address, 'zinc-push.v1'))
    expect(open.map((o) => o.status)).toEqual([101, 101, 101])
    const over = await attempt(pull.address, 'zinc-push.v1')
    expect(over.status).toBe(429)
    expect(over.body).toMatch(/too many connections/)
    open[0]!.ws!.terminate()
    let again = { status: 0 } as { status: number }
    // The server sees the close shortly after: retry until the slot is free (generous limit).
    for (let i = 0; i < 250 && again.status !== 101; i++) {
      again = await attempt(pull.address, 'zinc-push.v1')
      if (again.status !== 101) await new Promise((r) => setTimeout(r, 20))
    }
    expect(again.status).toBe(101)
    expect(host.stats().perIpRefused).toBeGreaterThanOrEqual(1)
  })

  it('a connection that neither completes a message nor answers pings is dropped after idleTimeoutMs; one that answers stays', async () => {
    const host = server({ idleTimeoutMs: 400 })
    const pub = await host.pub('ws://127.0.0.1:*/out')
    const silent = await attempt(pub.address, 'zinc-sub.v1', {}, { autoPong: false })
    const alive = await attempt(pub.address, 'zinc-sub.v1')
    let silentClosed = false
    silent.ws!.once('close', () => (silentClosed = true))
    await waitFor(() => silentClosed, 'the silent connection to be dropped', 10_000)
    expect(alive.ws!.readyState).toBe(WebSocket.OPEN)
    expect(host.stats().idleClosed).toBeGreaterThanOrEqual(1)
  })

  it('a message trickled and never finished is dropped with its connection after idleTimeoutMs', async () => {
    const host = server({ idleTimeoutMs: 400 })
    const pull = await host.pull('ws://127.0.0.1:*/in')
    const peer = await attempt(pull.address, 'zinc-push.v1', {}, { autoPong: false })
    // A frame header announcing 1 MB, then a few bytes every 50 ms: never a complete message.
    const socket = (peer.ws as unknown as { _socket: import('node:net').Socket })._socket
    const header = Buffer.from([0x82, 0xff, 0, 0, 0, 0, 0, 0x10, 0, 0, 1, 2, 3, 4])
    socket.write(header)
    const timer = setInterval(() => socket.writable && socket.write(Buffer.alloc(8)), 50)
    let closed = false
    peer.ws!.once('close', () => (closed = true))
    try {
      await waitFor(() => closed, 'the trickling connection to be dropped', 10_000)
    } finally {
      clearInterval(timer)
    }
    expect(host.stats().idleClosed).toBeGreaterThanOrEqual(1)
  })
})

describe('wss with the tls option', () => {
  const hasOpenssl = (() => {
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' })
      return true
    } catch {
      return false
    }
  })()

  it.skipIf(!hasOpenssl)('binds wss:// with a self-signed certificate made at test time, and a client that trusts it connects', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zinc-tls-'))
    cleanup.add(dir, (d) => rmSync(d, { recursive: true, force: true }))
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'ignore' },
    )
    const key = readFileSync(join(dir, 'key.pem'))
    const cert = readFileSync(join(dir, 'cert.pem'))
    const host = server({ tls: { key, cert } })
    await expect(host.pull('ws://127.0.0.1:*/plain')).rejects.toMatchObject({ code: 'ERR_BIND' })
    const pull = await host.pull('wss://127.0.0.1:*/in')
    expect(pull.address).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/in$/)
    const pulled = collect(pull)
    const ws = new WebSocket(`${pull.address}?zs=${newSession()}`, 'zinc-push.v1', { ca: cert })
    cleanup.add(ws, (w) => w.terminate())
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
    })
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('over tls')]))
    await waitFor(() => pulled.length === 1, 'the message over wss')
    expect(str(pulled[0]![0])).toBe('over tls')
    // A client that does not trust the certificate cannot connect.
    const untrusting = new WebSocket(pull.address, 'zinc-push.v1')
    const failed = await new Promise<boolean>((resolve) => {
      untrusting.once('open', () => resolve(false))
      untrusting.once('error', () => resolve(true))
    })
    untrusting.terminate()
    expect(failed).toBe(true)
  })
})
