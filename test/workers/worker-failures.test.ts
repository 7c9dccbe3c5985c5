/**
 * What goes wrong in worker-thread handlers, with real threads: a handler that throws, hangs
 * past its timeout, or kills its thread is reported (onError, the log) and counted (stats), its
 * thread is replaced, and the endpoint keeps serving; a thread dying under a message does not
 * lose it (it runs again on a fresh thread); a module that cannot be used fails `handle()` at
 * registration naming the file; a full pool stops the listener instead of growing.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { HandlerLoadError, InvalidArgumentError, WorkerTaskError, type Endpoint } from '@zinc/core'
import { afterEach, describe, expect, it } from 'vitest'
import { waitFor } from '../helpers.js'
import { Scratch } from './scratch.js'

const BEHAVE = new URL('./fixtures/behaviours.mjs', import.meta.url)

const scratch = new Scratch()
afterEach(() => scratch.cleanup())

type Result = { n: number; threadId: number }

/** A host with a 'work' handler on `behaviours.mjs`, and what it reported. */
async function setup(options: { timeoutMs?: number; retries?: number; threads?: number; queueLimit?: number; memoryLimitMb?: number } = {}) {
  const { queueLimit, ...worker } = options
  const cluster = await scratch.start(1, queueLimit === undefined ? {} : { queueLimit })
  const results: Result[] = []
  const errors: WorkerTaskError[] = []
  await cluster.host.handle<unknown, Result>('work', { worker: BEHAVE, threads: 1, ...worker, onResult: (r) => void results.push(r), onError: (e) => void errors.push(e) })
  const send = (payload: object) => cluster.clients[0]!.publish('work', payload)
  return { host: cluster.host, results, errors, send }
}

/** The endpoint still serves: a plain message gets its result. */
async function stillServes(host: Endpoint, results: Result[], send: (p: object) => Promise<void>, n: number): Promise<void> {
  await send({ do: 'ok', n })
  await waitFor(() => results.some((r) => r.n === n), `message ${n} handled after the failure`, 30_000)
  expect(host.closed).toBe(false)
}

describe('worker handler failures', () => {
  it('a handler that throws is reported with its error and counted; the next message is served', async () => {
    const { host, results, errors, send } = await setup()
    await send({ do: 'throw', n: 1 })
    await waitFor(() => errors.length === 1, 'the error reported')
    expect(errors[0]).toBeInstanceOf(WorkerTaskError)
    expect(errors[0]!.reason).toBe('threw')
    expect(errors[0]!.message).toContain('RangeError: message 1 is out of range')
    expect(errors[0]!.message).toContain('behaviours.mjs')
    await stillServes(host, results, send, 2)
    const s = host.stats()
    expect(s).toMatchObject({ workerErrors: 1, workerTasks: 1, workerTimeouts: 0, workerCrashes: 0, handlerErrors: 1 })
  })

  it('a handler that hangs past timeoutMs is stopped, its thread replaced, and the endpoint goes on', async () => {
    const { host, results, errors, send } = await setup({ timeoutMs: 300 })
    await send({ do: 'hang', n: 1 })
    await waitFor(() => errors.length === 1, 'the timeout reported', 30_000)
    expect(errors[0]!.reason).toBe('timeout')
    expect(errors[0]!.code).toBe('ERR_WORKER_TIMEOUT')
    expect(errors[0]!.message).toContain('300 ms')
    await stillServes(host, results, send, 2)
    expect(host.stats()).toMatchObject({ workerTimeouts: 1, workerTasks: 1, handlerErrors: 1 })
  })

  it('a message waiting for a free thread is not timed out while it waits', async () => {
    const cluster = await scratch.start(2)
    const [a, b] = cluster.clients
    const results: Result[] = []
    const errors: WorkerTaskError[] = []
    await cluster.host.handle<unknown, Result>('work', { worker: BEHAVE, threads: 1, timeoutMs: 800, orderBy: 'origin', onResult: (r) => void results.push(r), onError: (e) => void errors.push(e) })
    // Two lanes, one thread: b's message waits while a's hangs until its time limit.
    await a!.publish('work', { do: 'hang', n: 1 })
    await waitFor(() => cluster.host.stats().queueDepth > 0, 'the hang to start')
    await b!.publish('work', { do: 'ok', n: 2 })
    await waitFor(() => errors.length + results.length === 2, 'both messages settled', 30_000)
    expect(errors.map((e) => e.reason)).toEqual(['timeout'])
    expect(results.map((r) => r.n)).toEqual([2])
  })

  it('a thread that dies under a message is replaced and the message runs again: nothing is lost', async () => {
    const dir = await scratch.folder('crash')
    const { host, results, errors, send } = await setup()
    await send({ do: 'exit-once', n: 1, file: join(dir, 'crashed-once') })
    await waitFor(() => results.length === 1, 'the message handled on its second attempt', 30_000)
    expect(results[0]!.n).toBe(1)
    expect(errors).toEqual([])
    expect(host.stats()).toMatchObject({ workerCrashes: 1, workerRetries: 1, workerTasks: 1, handlerErrors: 0 })
  })

  it('a message that kills every thread it runs on is rejected with the reason after its retries', async () => {
    const { host, results, errors, send } = await setup({ retries: 2 })
    await send({ do: 'exit', n: 1 })
    await waitFor(() => errors.length === 1, 'the crash reported', 30_000)
    expect(errors[0]!.reason).toBe('crashed')
    expect(errors[0]!.attempts).toBe(3)
    expect(errors[0]!.message).toContain('exited with code: 7')
    await stillServes(host, results, send, 2)
    expect(host.stats()).toMatchObject({ workerCrashes: 3, workerRetries: 2, handlerErrors: 1 })
  })

  it('a handler past its memory limit kills its thread, not the process, and is reported', async () => {
    const { host, results, errors, send } = await setup({ memoryLimitMb: 32, retries: 0 })
    await send({ do: 'hog', n: 1 })
    await waitFor(() => errors.length === 1, 'the out-of-memory thread reported', 30_000)
    expect(errors[0]!.reason).toBe('crashed')
    expect(errors[0]!.message).toMatch(/memory/i)
    await stillServes(host, results, send, 2)
    expect(host.stats()).toMatchObject({ workerCrashes: 1, handlerErrors: 1 })
  })

  it('a full pool stops the listener: the queue stays within queueLimit and every message arrives, in order', async () => {
    const dir = await scratch.folder('pressure')
    const release = join(dir, 'release')
    const { host, results, send } = await setup({ queueLimit: 8 })
    let deepest = 0
    const watch = setInterval(() => (deepest = Math.max(deepest, host.stats().queueDepth)), 1)
    try {
      await send({ do: 'hold', n: 0, file: release })
      for (let n = 1; n < 60; n++) await send({ do: 'ok', n })
      // The host reads until its pool is full, then stops: the rest waits in the transport.
      await waitFor(() => host.stats().queueDepth >= 8, 'the pool to fill')
      await writeFile(release, '')
      await waitFor(() => results.length === 60, 'every message handled', 30_000)
    } finally {
      clearInterval(watch)
    }
    expect(results.map((r) => r.n)).toEqual([...Array(60).keys()])
    // Control messages (heartbeats) have their own lanes, bounded by the same limit.
    expect(deepest).toBeLessThanOrEqual(8 * 2)
    expect(host.stats().queueDrops).toBe(0)
  })

  it('closing the endpoint stops a hung handler and its threads', async () => {
    const { host, errors, send } = await setup({ timeoutMs: 60_000 })
    await send({ do: 'hang', n: 1 })
    await waitFor(() => host.stats().queueDepth > 0, 'the hung message to run')
    await host.close()
    expect(host.closed).toBe(true)
    // Dropped at close like any queued message, not reported as the handler's failure.
    expect(errors).toEqual([])
  })
})

describe('registering a worker handler', () => {
  it('fails at registration, naming the file, when the module is missing, broken or exports no handler', async () => {
    const cluster = await scratch.start(0)
    const dir = await scratch.folder('load')
    const { host } = cluster
    const missing = join(dir, 'thumbnail.js')
    const missingError = await host.handle('thumbnail', { worker: missing }).catch((e: unknown) => e)
    expect(missingError).toBeInstanceOf(HandlerLoadError)
    expect((missingError as HandlerLoadError).message).toContain(`${missing}: no such file`)

    const broken = join(dir, 'broken.mjs')
    await writeFile(broken, 'export default function (message {\n')
    const brokenError = (await host.handle('broken', { worker: broken }).catch((e: unknown) => e)) as HandlerLoadError
    expect(brokenError).toBeInstanceOf(HandlerLoadError)
    expect(brokenError.message).toContain(broken)
    expect(brokenError.message).toMatch(/SyntaxError|Unexpected|missing/i)

    const noDefault = new URL('./fixtures/no-default.mjs', import.meta.url)
    const noDefaultError = (await host.handle('thumb', { worker: noDefault }).catch((e: unknown) => e)) as HandlerLoadError
    expect(noDefaultError).toBeInstanceOf(HandlerLoadError)
    expect(noDefaultError.message).toContain('no-default.mjs')
    expect(noDefaultError.message).toContain('no function named "default" (its functions: thumbnail')

    await expect(host.handle('rel', { worker: './fixtures/behaviours.mjs' })).rejects.toThrow(InvalidArgumentError)
    await expect(host.handle('threads', { worker: BEHAVE, threads: 0 })).rejects.toThrow(/threads must be/)

    // None of it was registered, and the endpoint still takes a good module.
    const off = await host.handle('thumb', { worker: noDefault, export: 'thumbnail', threads: 1 })
    expect(typeof off).toBe('function')
    expect(host.closed).toBe(false)
  })
})
