import { describe, expect, it } from 'vitest'
import { SocketReader, type ReadableSocket } from '../src/socket-reader.js'

/** A small seeded generator (mulberry32), so a failing run can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * A fake zeromq.js socket holding `count` messages (each one frame, its index). Like the real
 * one it throws EBUSY on a second receive in flight, settles a receive at once when a message
 * is "ready" and later otherwise, and rejects pending and later receives once closed.
 */
function fakeSocket(count: number, rand: () => number) {
  let next = 0
  let inFlight = false
  let busy = 0
  let pendingReject: ((err: Error) => void) | undefined
  const closedError = () => Object.assign(new Error('Socket is closed'), { code: 'EAGAIN' })
  const socket = {
    closed: false,
    get busy() {
      return busy
    },
    get delivered() {
      return next
    },
    close() {
      socket.closed = true
      pendingReject?.(closedError())
    },
    receive(): Promise<Uint8Array[]> {
      if (inFlight) {
        busy++
        throw Object.assign(new Error('Socket is busy reading'), { code: 'EBUSY' })
      }
      if (socket.closed) return Promise.reject(closedError())
      inFlight = true
      const take = () => {
        inFlight = false
        pendingReject = undefined
        return [Uint8Array.of(next++)]
      }
      if (next < count && rand() < 0.6) return Promise.resolve(take())
      return new Promise((resolve, reject) => {
        pendingReject = (err) => {
          inFlight = false
          reject(err)
        }
        const poll = () => {
          if (socket.closed) return
          if (next < count) resolve(take())
          else setTimeout(poll, 1)
        }
        setTimeout(poll, rand() < 0.5 ? 0 : 1)
      })
    },
  }
  return socket
}

describe('SocketReader', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`gives every message to exactly one of several slow consumers, in order, never two receives at once (seed ${seed})`, async () => {
      const rand = random(seed)
      const count = 250 // one byte each
      const socket = fakeSocket(count, rand)
      let skipped = 0
      const reader = new SocketReader(socket, (frames) => {
        // Like a ROUTER's connection notices: some messages are no message for a consumer.
        if (frames[0]![0]! % 17 === 16) {
          skipped++
          return undefined
        }
        return frames
      })
      const seen: number[][] = [[], [], []]
      const consumers = seen.map(async (mine) => {
        const iterator = reader.iterator()
        for (;;) {
          const result = await iterator.next()
          if (result.done === true) return
          mine.push(result.value[0]![0]!)
          // Back-pressure: a consumer sometimes takes a few event-loop turns over a message.
          for (let i = Math.floor(rand() * 3); i > 0; i--) await turn()
        }
      })
      while (socket.delivered < count) await turn()
      for (let i = 0; i < 5; i++) await turn()
      socket.close()
      await Promise.all(consumers)
      expect(socket.busy).toBe(0)
      for (const mine of seen) expect(mine).toEqual([...mine].sort((a, b) => a - b))
      const all = seen.flat().sort((a, b) => a - b)
      expect(all.length + skipped).toBe(count)
      expect(new Set(all).size).toBe(all.length)
      // After the end every consumer, old or new, is told so at once.
      expect(await reader.iterator().next()).toEqual({ done: true, value: undefined })
    })
  }

  it('goes on reading from a replacement socket when the old one closes under a pending receive', async () => {
    const first = fakeSocket(2, () => 1)
    const second = fakeSocket(3, () => 0)
    const reader = new SocketReader(first, (frames) => frames)
    const iterator = reader.iterator()
    expect((await iterator.next()).value).toEqual([Uint8Array.of(0)])
    expect((await iterator.next()).value).toEqual([Uint8Array.of(1)])
    const pending = iterator.next()
    await turn()
    reader.replace(second)
    first.close()
    expect((await pending).value).toEqual([Uint8Array.of(0)])
    expect((await iterator.next()).value).toEqual([Uint8Array.of(1)])
  })

  it('a break out of one consumer leaves the socket open for the next', async () => {
    const socket = fakeSocket(4, () => 0)
    const reader = new SocketReader(socket, (frames) => frames)
    const got: number[] = []
    for await (const frames of { [Symbol.asyncIterator]: () => reader.iterator() }) {
      got.push(frames[0]![0]!)
      if (got.length === 2) break
    }
    for await (const frames of { [Symbol.asyncIterator]: () => reader.iterator() }) {
      got.push(frames[0]![0]!)
      if (got.length === 4) break
    }
    expect(got).toEqual([0, 1, 2, 3])
    expect(socket.closed).toBe(false)
  })

  it('hands a waiting message to a for-await consumer within two microtask turns', async () => {
    // Every turn here is paid on every message at every endpoint; it used to be six.
    const socket: ReadableSocket = { closed: false, receive: () => Promise.resolve([Uint8Array.of(7)]) }
    const reader = new SocketReader(socket, (frames) => frames)
    const iterable = { [Symbol.asyncIterator]: () => reader.iterator() }
    let turns = 0
    let counting = true
    const count = () => {
      turns++
      if (counting) queueMicrotask(count)
    }
    const turnsPerMessage: number[] = []
    let last = 0
    queueMicrotask(count)
    for await (const frames of iterable) {
      expect(frames[0]![0]).toBe(7)
      turnsPerMessage.push(turns - last)
      last = turns
      if (turnsPerMessage.length === 10) break
    }
    counting = false
    expect(Math.max(...turnsPerMessage.slice(1))).toBeLessThanOrEqual(2)
  })
})
