import { afterEach, describe, expect, it, vi } from 'vitest'
import { DeferQueue } from '../dist/runtime/defer-queue.js'

afterEach(() => vi.restoreAllMocks())

const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('DeferQueue', () => {
  it('runs what was deferred in order, and what a deferred function defers on a later run', async () => {
    const errors: unknown[] = []
    const q = new DeferQueue((error) => errors.push(error))
    const ran: string[] = []
    q.defer(() => ran.push('a'))
    q.defer(() => {
      ran.push('b')
      q.defer(() => ran.push('d'))
      throw new Error('boom')
    })
    q.defer(() => ran.push('c'))
    expect(ran).toEqual([])
    await turn()
    await turn()
    expect(ran).toEqual(['a', 'b', 'c', 'd'])
    expect(errors).toHaveLength(1)
    for (let i = 0; i < 5; i++) q.defer(() => ran.push(String(i)))
    await turn()
    await turn()
    expect(ran).toEqual(['a', 'b', 'c', 'd', '0', '1', '2', '3', '4'])
  })

  it('schedules its runs with one function made once, not a closure per run', async () => {
    // Every received fragment at a root defers its sequencing: a closure per run was an
    // allocation per message.
    const scheduled: unknown[] = []
    const real = globalThis.queueMicrotask
    vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((fn) => {
      scheduled.push(fn)
      real(fn)
    })
    const realImmediate = globalThis.setImmediate
    vi.spyOn(globalThis, 'setImmediate').mockImplementation(((fn: () => void) => {
      scheduled.push(fn)
      return realImmediate(fn)
    }) as typeof setImmediate)
    const q = new DeferQueue(() => {})
    let runs = 0
    for (let i = 0; i < 4; i++) {
      q.defer(() => runs++)
      await new Promise<void>((resolve) => realImmediate(resolve))
    }
    expect(runs).toBe(4)
    const mine = scheduled.filter((fn) => typeof fn === 'function' && fn.toString().includes('run'))
    expect(mine.length).toBeGreaterThanOrEqual(4)
    expect(new Set(mine).size).toBe(1)
  })
})
