import { describe, expect, it } from 'vitest'
import { TypedEmitter } from '../dist/events.js'

type Events = { ping: [n: number]; pong: [a: string, b: number]; other: [] }

/** Lets every queued microtask run (a macrotask turn comes after all of them). */
const drain = () => new Promise<void>((r) => setImmediate(r))

describe('TypedEmitter', () => {
  it('dispatches on a microtask, not inside emit()', async () => {
    const e = new TypedEmitter<Events>()
    const got: unknown[][] = []
    e.on('pong', (...args) => got.push(args))
    e.emit('pong', 'a', 1)
    expect(got).toEqual([])
    await Promise.resolve()
    expect(got).toEqual([['a', 1]])
  })

  it('delivers to every listener, in registration order, and keeps event order', async () => {
    const e = new TypedEmitter<Events>()
    const got: string[] = []
    e.on('ping', (n) => got.push(`first ${n}`))
    e.on('ping', (n) => got.push(`second ${n}`))
    e.emit('ping', 1)
    e.emit('ping', 2)
    await drain()
    expect(got).toEqual(['first 1', 'second 1', 'first 2', 'second 2'])
  })

  it('delivers to the listeners registered at emit time', async () => {
    const e = new TypedEmitter<Events>()
    const got: string[] = []
    e.emit('ping', 0) // nobody listens: nothing queued
    e.on('ping', (n) => got.push(`early ${n}`))
    e.emit('ping', 1)
    e.on('ping', (n) => got.push(`late ${n}`))
    await drain()
    expect(got).toEqual(['early 1'])
  })

  it('off() and the function returned by on() remove a listener', async () => {
    const e = new TypedEmitter<Events>()
    const got: string[] = []
    const a = (n: number) => got.push(`a${n}`)
    const stopB = e.on('ping', (n) => got.push(`b${n}`))
    e.on('ping', a)
    expect(e.listenerCount('ping')).toBe(2)
    e.off('ping', a)
    stopB()
    expect(e.listenerCount('ping')).toBe(0)
    e.emit('ping', 1)
    await drain()
    expect(got).toEqual([])
    // removing twice or something never added is harmless
    e.off('ping', a)
    e.off('other', () => {})
  })

  it('once() runs a listener for the first event only', async () => {
    const e = new TypedEmitter<Events>()
    const got: number[] = []
    e.once('ping', (n) => got.push(n))
    e.emit('ping', 1)
    await drain()
    e.emit('ping', 2)
    await drain()
    expect(got).toEqual([1])
    expect(e.listenerCount('ping')).toBe(0)
  })

  it('the function returned by once() cancels it', async () => {
    const e = new TypedEmitter<Events>()
    const got: number[] = []
    const cancel = e.once('ping', (n) => got.push(n))
    cancel()
    e.emit('ping', 1)
    await drain()
    expect(got).toEqual([])
  })

  // BUG (reported): src/events.ts once() removes its wrapper only when the wrapper runs, but
  // emit() snapshots the listener set synchronously and dispatches later. Two emits in the same
  // tick both capture the wrapper, so a `once` listener runs twice.
  it('once() runs only once even when the event is emitted twice in one tick', async () => {
    const e = new TypedEmitter<Events>()
    const got: number[] = []
    e.once('ping', (n) => got.push(n))
    e.emit('ping', 1)
    e.emit('ping', 2)
    await drain()
    expect(got).toEqual([1])
  })

  it('a throwing listener does not stop the others and is reported', async () => {
    const reported: Array<[unknown, string]> = []
    const e = new TypedEmitter<Events>((error, event) => reported.push([error, event]))
    const got: string[] = []
    const boom = new Error('boom')
    e.on('ping', () => {
      throw boom
    })
    e.on('ping', (n) => got.push(`after ${n}`))
    e.emit('ping', 1)
    e.emit('ping', 2)
    await drain()
    expect(got).toEqual(['after 1', 'after 2'])
    expect(reported).toEqual([
      [boom, 'ping'],
      [boom, 'ping'],
    ])
  })

  it('removeAllListeners() removes every listener of every event', async () => {
    const e = new TypedEmitter<Events>()
    const got: string[] = []
    e.on('ping', () => got.push('ping'))
    e.on('other', () => got.push('other'))
    e.removeAllListeners()
    e.emit('ping', 1)
    e.emit('other')
    await drain()
    expect(got).toEqual([])
    expect(e.listenerCount('ping') + e.listenerCount('other')).toBe(0)
  })
})
