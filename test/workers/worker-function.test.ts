/**
 * `workerFunction`: a module's function called from the endpoint's thread and run in a worker
 * thread pool — the way a content hook such as `validate` runs off the endpoint's loop.
 */
import { HandlerLoadError, WorkerTaskError, workerFunction } from '@zinc/core'
import { describe, expect, it } from 'vitest'

const VALIDATE = new URL('./fixtures/validate.mjs', import.meta.url)

type Change = { after: { title?: string } }

describe('workerFunction', () => {
  it('calls the export in a thread, with cloned input and result', async () => {
    await using validate = await workerFunction<Change, boolean | string>(VALIDATE, { threads: 1 })
    expect(await validate({ after: { title: 'short' } })).toBe(true)
    expect(await validate({ after: { title: 'a title far longer than twenty' } })).toBe('title too long (30 > 20)')
    expect(validate.stats.workerTasks).toBe(2)
  })

  it('rejects one call whose thread dies, with the reason, and serves the next on a fresh thread', async () => {
    await using validate = await workerFunction<Change, boolean | string>(VALIDATE, { threads: 1, retries: 0 })
    const error = await validate({ after: { title: 'crash' } }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerTaskError)
    expect((error as WorkerTaskError).reason).toBe('crashed')
    expect(await validate({ after: { title: 'fine' } })).toBe(true)
    expect(validate.stats).toMatchObject({ workerCrashes: 1, workerRetries: 0, workerTasks: 1 })
  })

  it('fails to load a module without the named export, naming the file', async () => {
    await expect(workerFunction(VALIDATE, { export: 'check' })).rejects.toThrow(HandlerLoadError)
    await expect(workerFunction(VALIDATE, { export: 'check' })).rejects.toThrow(/validate\.mjs: it exports no function named "check" \(its functions: default/)
  })
})
