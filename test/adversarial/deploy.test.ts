/**
 * The WebSocket edge as deployed: a JWT from the page checked by `authenticate` (the README's
 * recipe, with `jose`), many idle connections, and a reader that stops reading. After each,
 * honest clients still exchange changes and RSS stays within a stated bound.
 */
import { Kind } from '@zinc/core'
import { jwtVerify, SignJWT } from 'jose'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { waitFor } from '../helpers.js'
import { honestChangeArrives, RawPeer, randomSession, rssMb, startEdge, STRESS, type Edge } from './edge.js'

type Shapes = Record<string, unknown>

let edge: Edge | undefined
const cleanups: Array<() => void> = []

afterEach(async () => {
  for (const c of cleanups.splice(0)) c()
  await edge?.close()
  edge = undefined
})

describe('the WebSocket edge as deployed', () => {
  it('README recipe: a JWT from the page, verified with jose in authenticate; the user behind it drives authorize', async () => {
    // --- the recipe (README, "Security") ---
    const secret = new TextEncoder().encode('a-32-byte-secret-for-tests-only!!')
    const users = new Map<string, string>() // endpoint id → user (the JWT's subject)
    const authenticate = async ({ endpoint, token }: { endpoint: string; token: string }) => {
      try {
        const { payload } = await jwtVerify(token, secret, { issuer: 'https://app.example.com', audience: 'zinc' })
        users.set(endpoint, String(payload.sub))
        return true
      } catch (error) {
        return `the sign-in token was not accepted (${(error as Error).message}); sign in again`
      }
    }
    const authorize = ({ endpoint, doc, action }: { endpoint: string; doc: string; action: string }) =>
      action !== 'change' || doc !== 'announcements' || users.get(endpoint) === 'admin' || 'only admins may change announcements'
    const tokenFor = (sub: string, expires = '1h') =>
      new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuer('https://app.example.com').setAudience('zinc').setExpirationTime(expires).sign(secret)
    // --- end of recipe ---
    // authenticate runs where peers join (the edge); authorize where it is asked: the root for
    // changes, and any endpoint serving an open or read from its own copy (here, one process).
    edge = await startEdge({ relay: { authenticate, authorize }, root: { authorize } })
    const admin = await edge.client({ token: await tokenFor('admin') })
    const reader = await edge.client({ token: await tokenFor('reader') })
    const a = await admin.open<Shapes>('announcements', { initial: {} })
    const r = await reader.open<Shapes>('announcements')
    await honestChangeArrives(a, r, 'jwt')
    const refused = r.change((d) => {
      d.hack = true
    })
    await expect(refused.confirmed).rejects.toThrow(/only admins/)
    await expect(edge.client({ token: 'not-a-jwt' })).rejects.toThrow(/sign-in token was not accepted/)
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('x')
      .setIssuer('https://app.example.com')
      .setAudience('zinc')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(secret)
    await expect(edge.client({ token: expired })).rejects.toThrow(/"exp" claim/)
  })

  it(`${STRESS ? 1000 : 1000} idle connections cost little and block nobody; honest clients go on`, async () => {
    edge = await startEdge()
    const alice = await edge.client()
    const bob = await edge.client()
    const a = await alice.open<Shapes>('board', { initial: {} })
    const b = await bob.open<Shapes>('board', { initial: {} })
    const before = rssMb()
    const sockets: WebSocket[] = []
    cleanups.push(() => sockets.forEach((s) => s.terminate()))
    const count = 1000
    for (let i = 0; i < count; i += 100) {
      const batch = Array.from({ length: 100 }, (_, j) => {
        const path = (i + j) % 2 === 0 ? edge!.addresses.inbound : edge!.addresses.outbound
        const ws = new WebSocket(`${path}?zs=${randomSession()}`, (i + j) % 2 === 0 ? 'zinc-push.v1' : 'zinc-sub.v1')
        ws.on('error', () => {})
        sockets.push(ws)
        return new Promise<void>((resolve) => {
          ws.once('open', () => resolve())
          ws.once('close', () => resolve())
        })
      })
      await Promise.all(batch)
    }
    expect(sockets.filter((s) => s.readyState === WebSocket.OPEN).length).toBe(count)
    await honestChangeArrives(a, b, 'idle-1000')
    await honestChangeArrives(b, a, 'idle-1000-back')
    const grown = rssMb() - before
    console.log(`${count} idle connections: RSS +${grown.toFixed(0)} MB`)
    // Stated bound: 1,000 idle connections (both ends in this process) cost under 150 MB.
    expect(grown).toBeLessThan(150)
  })

  it(
    'a reader that stops reading loses messages past the high-water mark; the publisher stays bounded and others are unaffected',
    async () => {
      edge = await startEdge({ ws: { highWaterMarkBytes: 1024 * 1024 } })
      const alice = await edge.client()
      const bob = await edge.client()
      const a = await alice.open<Shapes>('board', { initial: {} })
      const b = await bob.open<Shapes>('board', { initial: {} })
      const slow = await RawPeer.connect(edge.addresses)
      cleanups.push(() => slow.close())
      slow.hello()
      await waitFor(() => slow.welcomed(), 'the slow reader to be welcomed')
      slow.open('board')
      await waitFor(() => slow.received.some((r) => r.message.kind === Kind.SNAPSHOT), 'the slow reader’s snapshot')
      // It stops reading: its TCP window fills (loopback buffers grow to tens of MB here), then
      // the server's socket buffer, then the publisher's queue for it, which drops past 1 MB.
      ;(slow.sub as unknown as { _socket: import('node:net').Socket })._socket.pause()
      const before = rssMb()
      // Presence fans out like changes but is neither logged nor kept: the bytes go to the wire.
      const updates = STRESS ? 1000 : 250
      const filler = 'p'.repeat(256 * 1024)
      for (let i = 0; i < updates; i++) {
        a.presence.set({ i, filler })
        // One value per presence window (16 ms): values set within one are sent once (the last one).
        await new Promise((r) => setTimeout(r, 17))
        // Pace like a real tab. Presence is ephemeral: under load Bob may lose some too, so wait
        // for one near the latest rather than that exact one.
        if (i % 25 === 24) await waitFor(() => ((b.presence.get().get(alice.id) as { i: number } | undefined)?.i ?? -1) >= i - 25, `presence near ${i} at Bob`, 60_000)
      }
      await honestChangeArrives(a, b, 'slow-reader')
      await honestChangeArrives(b, a, 'slow-reader-back')
      const grown = rssMb() - before
      console.log(`slow reader, ${updates} presence updates of 256 KB: RSS +${grown.toFixed(0)} MB, dropped for it ${edge.ws.stats().droppedByHwm}`)
      expect(edge.ws.stats().droppedByHwm).toBeGreaterThan(0)
      // Stated bound: 150 MB; the stalled subscriber itself holds at most its 1 MB mark in the
      // publisher (the kernel holds what its socket buffers take).
      expect(grown).toBeLessThan(150)
    },
    STRESS ? 300_000 : 120_000,
  )
})
