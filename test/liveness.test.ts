import { Endpoint, type EndpointOptions } from '@zinc/core'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { afterEach, describe, expect, it } from 'vitest'
import { FAST, inprocCluster, waitFor, type InprocCluster } from './helpers.js'

/**
 * Liveness has its own lane: heartbeats, hellos and rosters are stamped when a frame is read
 * and never wait behind application handlers or a full queue. A slow `handle()` callback —
 * asynchronous, or blocking the whole event loop — must never look like a dead peer: nobody
 * is promoted, nobody loses its parent.
 */
let cluster: InprocCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

const PEER_TIMEOUT = 400

function watch(endpoints: Endpoint[]): { lost: string[] } {
  const lost: string[] = []
  for (const e of endpoints) e.on('parent-lost', () => lost.push(e.id))
  return { lost }
}

function noPromotion(c: InprocCluster, lost: string[]): void {
  expect(lost).toEqual([])
  expect(c.host.role).toBe('host')
  for (const e of c.all) {
    expect(e.epoch).toBe(1)
    expect(e.stats().promotions).toBe(0)
  }
  for (const e of c.clients) expect(e.role).toBe('client')
}

describe('liveness lane', () => {
  it('a handler that waits for several peer timeouts, with the queue full behind it, causes no promotion', async () => {
    const c = (cluster = await inprocCluster(2, { peerTimeoutMs: PEER_TIMEOUT, queueLimit: 16 }))
    const { lost } = watch(c.all)
    let release!: () => void
    const blocked = new Promise<void>((resolve) => (release = resolve))
    const handled = new Map<string, number>()
    for (const e of c.all) {
      handled.set(e.id, 0)
      e.handle('slow', async () => {
        await blocked
        handled.set(e.id, handled.get(e.id)! + 1)
      })
    }
    const doc = await c.clients[0]!.open<{ n: number }>('d', { initial: { n: 0 } })
    for (let i = 0; i < 100; i++) await c.clients[0]!.publish('slow', { i })
    // Every queue fills (16 items) and every listener waits; heartbeats must not be judged.
    await waitFor(() => c.host.stats().queueDepth >= 16, 'the root queue is full')
    const started = Date.now()
    await waitFor(() => Date.now() - started > PEER_TIMEOUT * 4, 'four peer timeouts', 30_000)
    noPromotion(c, lost)
    release()
    await waitFor(() => handled.get(c.host.id) === 100 && handled.get(c.clients[1]!.id) === 100, 'every message handled once the handler returns')
    // The tree still works: a change is confirmed.
    doc.change((s) => void (s.n = 1))
    await doc.synced()
    noPromotion(c, lost)
  })

  it('a handler that blocks the event loop for several peer timeouts causes no promotion', async () => {
    const c = (cluster = await inprocCluster(2, { peerTimeoutMs: PEER_TIMEOUT }))
    const { lost } = watch(c.all)
    let blocks = 0
    c.clients[1]!.handle('busy', () => {
      blocks++
      const until = Date.now() + PEER_TIMEOUT * 3
      while (Date.now() < until) {
        // a synchronous handler hogging the thread
      }
    })
    await c.clients[0]!.publish('busy', {})
    await waitFor(() => blocks === 1, 'the handler ran')
    // Let several ticks pass after the block.
    const started = Date.now()
    await waitFor(() => Date.now() - started > PEER_TIMEOUT * 3, 'three peer timeouts', 30_000)
    noPromotion(c, lost)
    await waitFor(() => c.host.stats().children === 2, 'both clients are children')
  })
})

describe('peers with different peer timeouts', () => {
  // Issue 12: a parent beat at a fifth of *its own* timeout when idle. A successor with a long
  // one (2.5 s) beat every 500 ms to siblings that gave up after 400 ms: they made a second root
  // at its epoch, and a confirmed change was lost when the split healed.
  for (const [parentMs, childMs] of [
    [PEER_TIMEOUT * 6, PEER_TIMEOUT],
    [PEER_TIMEOUT, PEER_TIMEOUT * 6],
  ] as const) {
    it(`an idle parent (peerTimeoutMs ${parentMs}) and child (${childMs}) each beat often enough for the other`, async () => {
      const network = new InprocNetwork({ seed: 4 })
      const start = (node: string, options: Partial<EndpointOptions>, join?: Endpoint) =>
        Endpoint.start({
          ...FAST,
          ...options,
          transport: new InprocTransport(network, { node }),
          bind: { inbound: network.uniqueAddress(`${node}-in`), outbound: network.uniqueAddress(`${node}-out`) },
          ...(join ? { join: join.addresses } : {}),
        })
      const host = await start('host', { peerTimeoutMs: parentMs })
      const client = await start('client', { peerTimeoutMs: childMs }, host)
      const c = (cluster = { network, host, clients: [client], all: [host, client], nodeOf: new Map(), close: async () => void (await Promise.all([host.close(), client.close()])) })
      const { lost } = watch(c.all)
      await (await client.open<{ n: number }>('d', { initial: { n: 0 } })).synced()
      // Idle for four of the shorter timeouts: nothing but heartbeats keeps either side alive.
      const started = Date.now()
      await waitFor(() => Date.now() - started > PEER_TIMEOUT * 4, 'four peer timeouts', 30_000)
      noPromotion(c, lost)
      // The parent never dropped the child for silence (a dropped child is told to join again).
      expect(host.stats().refusedByCode.ERR_NOT_JOINED ?? 0).toBe(0)
      expect(host.stats().children).toBe(1)
    })
  }
})

describe('opens are served per document', () => {
  it('a document whose authorize hook hangs holds back no other document, and a hook that throws is a refusal, not silence', async () => {
    let releaseSlow!: () => void
    const slowGate = new Promise<void>((resolve) => (releaseSlow = resolve))
    const c = (cluster = await inprocCluster(1, {
      authorize: async ({ doc }) => {
        if (doc === 'slow') await slowGate
        if (doc === 'broken') throw new Error('the access service is down')
        return true
      },
    }))
    const client = c.clients[0]!
    const slow = client.open('slow', { initial: { n: 0 } })
    const broken = client.open('broken', { initial: {} })
    const fast = await client.open<{ n: number }>('fast', { initial: { n: 1 } })
    expect(fast.state.n).toBe(1)
    await expect(broken).rejects.toThrow(/access service is down/)
    releaseSlow()
    expect((await slow).state).toEqual({ n: 0 })
  })
})
