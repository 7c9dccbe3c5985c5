/**
 * Application handlers in worker threads (`handle(kind, { worker })`), with real threads (piscina)
 * on a real in-process tree: where they run, what they receive and return, which messages keep
 * their order, and that a thread held busy does not hold back the endpoint's documents or
 * heartbeats. Failures and registration errors: worker-failures.test.ts.
 */
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { threadId } from 'node:worker_threads'
import type { AppMessage } from '@zinc/core'
import { afterEach, describe, expect, it } from 'vitest'
import { converged, waitFor, type InprocCluster } from '../helpers.js'
import { Scratch } from './scratch.js'

const ECHO = new URL('./fixtures/echo.mjs', import.meta.url)
const BEHAVE = new URL('./fixtures/behaviours.mjs', import.meta.url)

const scratch = new Scratch()
afterEach(() => scratch.cleanup())

type Echo = { threadId: number; origin: string; endpoint: string; payload: unknown; text: string }

describe('handle(kind, { worker })', () => {
  it('runs the handler in a worker thread with the message as published, and hands back its result', async () => {
    const cluster = await scratch.start(1)
    const { host, clients } = cluster
    const results: Array<{ result: Echo; message: AppMessage }> = []
    const off = await host.handle<unknown, Echo>('echo', { worker: ECHO, threads: 1, onResult: (result, message) => void results.push({ result, message }) })
    expect(typeof off).toBe('function')
    await clients[0]!.publish('echo', { text: 'json' })
    await clients[0]!.publish('echo', 'plain text')
    await clients[0]!.publish('echo', new Uint8Array([1, 2, 3]))
    await waitFor(() => results.length === 3, 'three results')
    for (const { result, message } of results) {
      expect(result.threadId).not.toBe(threadId)
      expect(result.origin).toBe(clients[0]!.id)
      expect(result.endpoint).toBe(host.id)
      expect(message.kind).toBe('echo')
    }
    expect(results.map((r) => r.result.payload)).toEqual([{ text: 'json' }, 'plain text', [1, 2, 3]])
    expect(results[1]!.result.text).toBe('plain text')
    expect(host.stats().workerTasks).toBe(3)
    expect(host.stats().handlerErrors).toBe(0)
  })

  it('moves bytes returned by the handler back to the endpoint as a Uint8Array', async () => {
    const cluster = await scratch.start(1)
    const got: Uint8Array[] = []
    await cluster.host.handle<Uint8Array, Uint8Array>('reverse', { worker: ECHO, export: 'reverse', threads: 1, onResult: (bytes) => void got.push(bytes) })
    const big = Uint8Array.from({ length: 256 * 1024 }, (_, i) => i % 251)
    await cluster.clients[0]!.publish('reverse', big)
    await waitFor(() => got.length === 1, 'the reversed bytes')
    expect(got[0]).toBeInstanceOf(Uint8Array)
    expect(got[0]!.byteLength).toBe(big.byteLength)
    expect(Buffer.from(got[0]!).equals(Buffer.from(big).reverse())).toBe(true)
  })

  it('leaves the frame whole for the rest of the tree: the root forwards the bytes its worker got', async () => {
    const cluster = await scratch.start(2)
    const [a, b] = cluster.clients
    const inWorker: Uint8Array[] = []
    const atB: Uint8Array[] = []
    await cluster.host.handle<Uint8Array, Uint8Array>('bytes', { worker: ECHO, export: 'reverse', threads: 1, onResult: (r) => void inWorker.push(r) })
    b!.handle<Uint8Array>('bytes', (m) => void atB.push(Uint8Array.from(m.payload)))
    const sent = Uint8Array.from({ length: 64 * 1024 }, (_, i) => (i * 7) % 256)
    for (let i = 0; i < 5; i++) await a!.publish('bytes', sent)
    await waitFor(() => inWorker.length === 5 && atB.length === 5, 'the root and b to get every message')
    for (const got of atB) expect(Buffer.from(got).equals(Buffer.from(sent))).toBe(true)
    for (const got of inWorker) expect(Buffer.from(got).equals(Buffer.from(sent).reverse())).toBe(true)
  })

  it('keeps the arrival order of a kind across threads, and of each origin with orderBy: origin', async () => {
    const cluster = await scratch.start(2)
    const [a, b] = cluster.clients as [NonNullable<InprocCluster['clients'][0]>, NonNullable<InprocCluster['clients'][0]>]
    const byKind: number[] = []
    const byOrigin = new Map<string, number[]>()
    await cluster.host.handle<unknown, { n: number }>('ordered', { worker: BEHAVE, threads: 2, onResult: (r) => void byKind.push(r.n) })
    await cluster.host.handle<unknown, { n: number }>('per-origin', {
      worker: BEHAVE,
      threads: 2,
      orderBy: 'origin',
      onResult: (r, m) => void (byOrigin.get(m.origin) ?? byOrigin.set(m.origin, []).get(m.origin)!).push(r.n),
    })
    for (let n = 0; n < 30; n++) {
      await a.publish('ordered', { n })
      await a.publish('per-origin', { n })
      await b.publish('per-origin', { n: 100 + n })
    }
    await waitFor(() => byKind.length === 30 && [...byOrigin.values()].flat().length === 60, 'every message handled')
    expect(byKind).toEqual([...Array(30).keys()])
    expect(byOrigin.get(a.id)).toEqual([...Array(30).keys()])
    expect(byOrigin.get(b.id)).toEqual([...Array(30).keys()].map((n) => 100 + n))
  })

  it('runs different orderBy keys at once, on different threads', async () => {
    const cluster = await scratch.start(2)
    const dir = await scratch.folder('meet')
    const [a, b] = cluster.clients
    const done: Array<{ n: number; threadId: number }> = []
    const errors: Error[] = []
    await cluster.host.handle<unknown, { n: number; threadId: number }>('meet', {
      worker: BEHAVE,
      threads: 2,
      orderBy: (m) => String(m.json<{ me: string }>().me),
      onResult: (r) => void done.push(r),
      onError: (e) => void errors.push(e),
    })
    // Each waits in its thread until the other has started: both finish only if they ran together.
    await a!.publish('meet', { do: 'meet', n: 1, dir, me: 'a', partner: 'b' })
    await b!.publish('meet', { do: 'meet', n: 2, dir, me: 'b', partner: 'a' })
    await waitFor(() => done.length + errors.length === 2, 'both meetings', 30_000)
    expect(errors).toEqual([])
    expect(new Set(done.map((d) => d.threadId)).size).toBe(2)
  })

  it('keeps documents and heartbeats going while every worker thread is busy', async () => {
    const cluster = await scratch.start(2)
    const dir = await scratch.folder('hold')
    const { host, clients } = cluster
    const release = join(dir, 'release')
    const started = join(dir, 'started')
    const finished: number[] = []
    await host.handle<unknown, { n: number }>('hold', { worker: BEHAVE, threads: 1, onResult: (r) => void finished.push(r.n) })
    const lost: string[] = []
    for (const c of clients) c.on('parent-lost', () => lost.push(c.id))
    const hostDoc = await host.open<{ n: number[] }>('board', { initial: { n: [] } })
    const docs = await Promise.all(clients.map((c) => c.open<{ n: number[] }>('board')))
    // The handler now holds its thread (synchronously) until the test releases it.
    await clients[0]!.publish('hold', { do: 'hold', n: 1, file: release, started })
    await waitFor(() => existsSync(started), 'the handler to start')
    // Changes are sequenced by the host and reach everyone while the handler still runs; an
    // inline handler doing the same would block the host's loop and this would never finish.
    for (let i = 0; i < 20; i++) await docs[i % 2]!.change((d) => void d.n.push(i))!.confirmed
    await waitFor(() => converged([hostDoc, ...docs]), 'convergence while the handler runs')
    // Dozens of heartbeats later, both ways, nobody was presumed dead.
    const beats = (e: { stats(): { receivedByKind: Record<string, number> } }) => e.stats().receivedByKind.HEARTBEAT ?? 0
    const hostBeats = beats(host)
    const clientBeats = clients.map(beats)
    await waitFor(() => beats(host) >= hostBeats + 40 && clients.every((c, i) => beats(c) >= clientBeats[i]! + 20), 'heartbeats both ways')
    expect(finished).toEqual([])
    expect(lost).toEqual([])
    expect(host.peers.length).toBe(2)
    await writeFile(release, '')
    await waitFor(() => finished.length === 1, 'the held handler to finish')
    expect(hostDoc.state.n).toHaveLength(20)
  })

  it('replaces an earlier handler of the kind, and unregistering stops delivery', async () => {
    const cluster = await scratch.start(1)
    const inline: number[] = []
    const inWorker: number[] = []
    cluster.host.handle<{ n: number }>('swap', (m) => void inline.push(m.payload.n))
    await cluster.clients[0]!.publish('swap', { n: 1 })
    await waitFor(() => inline.length === 1, 'the inline handler')
    const off = await cluster.host.handle<unknown, { n: number }>('swap', { worker: BEHAVE, threads: 1, onResult: (r) => void inWorker.push(r.n) })
    await cluster.clients[0]!.publish('swap', { n: 2 })
    await waitFor(() => inWorker.length === 1, 'the worker handler')
    off()
    const seen = cluster.host.stats().receivedByKind.APP ?? 0
    await cluster.clients[0]!.publish('swap', { n: 3 })
    await waitFor(() => (cluster.host.stats().receivedByKind.APP ?? 0) > seen, 'the third message to arrive')
    expect(inline).toEqual([1])
    expect(inWorker).toEqual([2])
  })
})
