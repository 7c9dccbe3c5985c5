import { describe, expect, it } from 'vitest'
import { WriterQueue } from '../src/writer-queue.js'

/** A fake socket that holds each send pending until released, and records overlaps. */
function fakeSocket() {
  const pending: Array<() => void> = []
  const written: number[] = []
  let inFlight = 0
  let maxInFlight = 0
  return {
    written,
    get maxInFlight() {
      return maxInFlight
    },
    pendingCount: () => pending.length,
    release: () => pending.shift()?.(),
    send(message: number): Promise<void> {
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      return new Promise((resolve) =>
        pending.push(() => {
          inFlight--
          written.push(message)
          resolve()
        }),
      )
    },
  }
}

const flush = () => new Promise((resolve) => setImmediate(resolve))

describe('WriterQueue', () => {
  it('hands one message at a time to the socket, in order', async () => {
    const socket = fakeSocket()
    let sent = 0
    const queue = new WriterQueue(socket, { capacity: 100, onSent: () => sent++, onError: () => {} })
    const done = Array.from({ length: 50 }, (_, i) => queue.put(i, () => new Error('closed')))
    while (socket.written.length < 50) {
      await flush()
      socket.release()
    }
    await Promise.all(done)
    expect(socket.written).toEqual(Array.from({ length: 50 }, (_, i) => i))
    expect(socket.maxInFlight).toBe(1)
    expect(sent).toBe(50)
  })

  it('drops offers past capacity and keeps what it accepted', async () => {
    const socket = fakeSocket()
    const queue = new WriterQueue(socket, { capacity: 3, onSent: () => {}, onError: () => {} })
    const results = Array.from({ length: 10 }, (_, i) => queue.offer(i))
    // One message is in the socket, three wait in the queue, six are dropped.
    expect(results.filter((r) => r === undefined)).toHaveLength(6)
    while (socket.written.length < 4) {
      await flush()
      socket.release()
    }
    expect(socket.written).toEqual([0, 1, 2, 3])
  })

  it('makes put wait while full and admits waiters in order', async () => {
    const socket = fakeSocket()
    const queue = new WriterQueue(socket, { capacity: 2, onSent: () => {}, onError: () => {} })
    const settled: number[] = []
    const puts = Array.from({ length: 6 }, (_, i) => queue.put(i, () => new Error('closed')).then(() => settled.push(i)))
    await flush()
    expect(settled).toEqual([])
    while (socket.written.length < 6) {
      await flush()
      socket.release()
    }
    await Promise.all(puts)
    expect(socket.written).toEqual([0, 1, 2, 3, 4, 5])
    expect(settled).toEqual([0, 1, 2, 3, 4, 5])
  })

  it('on close discards: rejects waiting puts, resolves dropped offers, refuses new ones', async () => {
    const socket = fakeSocket()
    const queue = new WriterQueue(socket, { capacity: 1, onSent: () => {}, onError: () => {} })
    const closed = new Error('closed')
    const puts = Array.from({ length: 4 }, (_, i) =>
      queue
        .put(i, () => closed)
        .then(
          () => 'sent',
          (err: unknown) => err,
        ),
    )
    const offeredSocket = fakeSocket()
    const offered = new WriterQueue(offeredSocket, { capacity: 5, onSent: () => {}, onError: () => {} })
    const offers = [offered.offer(1), offered.offer(2)]
    await flush()
    queue.close()
    offered.close()
    queue.close()
    // The message already in the socket completes; the rest were discarded.
    socket.release()
    offeredSocket.release()
    const results = await Promise.all(puts)
    expect(results).toEqual(['sent', closed, closed, closed])
    await expect(Promise.all(offers)).resolves.toBeDefined()
    await expect(queue.put(9, () => closed)).rejects.toBe(closed)
    expect(queue.offer(9)).toBeUndefined()
  })

  it('reports a failed send and goes on with the next message', async () => {
    const errors: unknown[] = []
    const written: number[] = []
    const queue = new WriterQueue<number>(
      { send: async (m) => (m === 1 ? Promise.reject(new Error('boom')) : void written.push(m)) },
      { capacity: 10, onSent: () => {}, onError: (err) => errors.push(err) },
    )
    await Promise.all([0, 1, 2].map((i) => queue.put(i, () => new Error('closed'))))
    expect(written).toEqual([0, 2])
    expect(errors).toHaveLength(1)
  })
  it('sends at once when idle and queues behind a send in flight: order, one at a time, every producer told', async () => {
    // An idle queue hands the message straight to the socket (no entry, no producer promise,
    // no drain loop: every publish and push of every hop goes through here). Mixed at random
    // with sends that settle later, nothing may overtake, overlap or be left unsettled.
    let seed = 17
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    for (let round = 0; round < 20; round++) {
      const written: number[] = []
      const later: Array<() => void> = []
      let inFlight = 0
      let maxInFlight = 0
      const socket = {
        send(m: number): Promise<void> {
          inFlight++
          maxInFlight = Math.max(maxInFlight, inFlight)
          const take = () => {
            inFlight--
            written.push(m)
          }
          if (random() < 0.5) {
            take()
            return Promise.resolve()
          }
          return new Promise<void>((resolve) => later.push(() => (take(), resolve())))
        },
      }
      let sent = 0
      const queue = new WriterQueue<number>(socket, { capacity: 1000, onSent: () => sent++, onError: () => {} })
      const settled: Array<Promise<void> | undefined> = []
      for (let i = 0; i < 40; i++) {
        settled.push(random() < 0.5 ? queue.offer(i) : queue.put(i, () => new Error('closed')))
        if (random() < 0.3) await Promise.resolve()
        if (random() < 0.3) later.shift()?.()
      }
      while (written.length < 40) {
        later.shift()?.()
        await new Promise((resolve) => setImmediate(resolve))
      }
      await Promise.all(settled)
      expect(written).toEqual(Array.from({ length: 40 }, (_, i) => i))
      expect(maxInFlight).toBe(1)
      expect(sent).toBe(40)
    }
  })
})
