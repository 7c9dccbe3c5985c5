import { describe, expect, it } from 'vitest'
import { HandlerPool, type HandlerPoolOptions } from '../dist/runtime/handler-pool.js'

/** A promise with its resolve/reject exposed. */
interface Gate {
  promise: Promise<void>
  resolve: () => void
  reject: (error: unknown) => void
}
function gate(): Gate {
  let resolve!: () => void
  let reject!: (error: unknown) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** Resolves when `cond()` holds, checking after every macrotask turn (no timers, no sleeps). */
async function until(cond: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if (cond()) return
    await new Promise<void>((r) => setImmediate(r))
  }
  throw new Error(`gave up waiting for ${what}`)
}

interface Item {
  key: string
  n: number
}

/** A pool whose handler parks each item until the test releases it. */
function gatedPool(opts: Partial<HandlerPoolOptions<Item>> = {}) {
  const started: Item[] = []
  const finished: Item[] = []
  const gates = new Map<string, Gate>()
  const errors: Array<{ error: unknown; item: Item }> = []
  let inFlight = 0
  let maxInFlight = 0
  const id = (i: Item) => `${i.key}:${i.n}`
  const pool = new HandlerPool<Item>({
    concurrency: 4,
    queueLimit: 1000,
    run: async (item) => {
      const g = gate()
      gates.set(id(item), g)
      started.push(item)
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      try {
        await g.promise
      } finally {
        inFlight--
        finished.push(item)
      }
    },
    onError: (error, item) => errors.push({ error, item }),
    ...opts,
  })
  return {
    pool,
    started,
    finished,
    errors,
    get inFlight() {
      return inFlight
    },
    get maxInFlight() {
      return maxInFlight
    },
    release(key: string, n: number) {
      const g = gates.get(`${key}:${n}`)
      if (!g) throw new Error(`item ${key}:${n} has not started`)
      g.resolve()
    },
    fail(key: string, n: number, error: unknown) {
      gates.get(`${key}:${n}`)!.reject(error)
    },
    isStarted: (key: string, n: number) => gates.has(`${key}:${n}`),
  }
}

describe('HandlerPool', () => {
  it('refuses a concurrency or queueLimit below 1', () => {
    const base = { run: () => {}, onError: () => {} }
    expect(() => new HandlerPool({ ...base, concurrency: 0, queueLimit: 1 })).toThrow(RangeError)
    expect(() => new HandlerPool({ ...base, concurrency: 1, queueLimit: 0 })).toThrow(RangeError)
    expect(() => new HandlerPool({ ...base, concurrency: Number.NaN, queueLimit: 1 })).toThrow(RangeError)
  })

  it('runs the items of one key one at a time, in submission order', async () => {
    const t = gatedPool({ concurrency: 8 })
    for (let n = 0; n < 5; n++) await t.pool.submit('doc', { key: 'doc', n })
    for (let n = 0; n < 5; n++) {
      await until(() => t.isStarted('doc', n), `doc:${n} to start`)
      expect(t.inFlight).toBe(1)
      expect(t.started.map((i) => i.n)).toEqual([...Array(n + 1).keys()])
      t.release('doc', n)
    }
    await t.pool.idle()
    expect(t.finished.map((i) => i.n)).toEqual([0, 1, 2, 3, 4])
    expect(t.maxInFlight).toBe(1)
  })

  it('keeps per-key order for many interleaved keys with synchronous handlers (property-like)', async () => {
    const seen = new Map<string, number[]>()
    const pool = new HandlerPool<Item>({
      concurrency: 3,
      queueLimit: 5,
      run: (item) => {
        seen.set(item.key, [...(seen.get(item.key) ?? []), item.n])
        // every third item yields, so keys really interleave
        if (item.n % 3 === 0) return Promise.resolve()
      },
      onError: () => {},
    })
    const keys = ['a', 'b', 'c', 'd', 'e']
    for (let n = 0; n < 200; n++) await pool.submit(keys[(n * 7) % keys.length]!, { key: keys[(n * 7) % keys.length]!, n })
    await pool.idle()
    let total = 0
    for (const ns of seen.values()) {
      expect(ns).toEqual([...ns].sort((x, y) => x - y))
      total += ns.length
    }
    expect(total).toBe(200)
  })

  it('runs an idle lane at once and what its handler queues after it, never inside it (random property)', async () => {
    // An idle lane's item runs at once, without a queue (issue 17: every received message
    // took a queue array, a ready entry and an async drain). A handler that queues under its
    // own key (the root's loop-back) must still see that item run after it returns, in order.
    let seed = 5
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    const seen = new Map<string, number[]>()
    const running = new Set<string>()
    let concurrent = 0
    let maxConcurrent = 0
    let n = 0
    const keys = ['a', 'b', 'c', 'd']
    const pool: HandlerPool<Item> = new HandlerPool<Item>({
      concurrency: 2,
      queueLimit: 1000,
      run: (item) => {
        expect(running.has(item.key), `two items of ${item.key} at once`).toBe(false)
        running.add(item.key)
        concurrent++
        maxConcurrent = Math.max(maxConcurrent, concurrent)
        seen.set(item.key, [...(seen.get(item.key) ?? []), item.n])
        if (random() < 0.2) pool.push(item.key, { key: item.key, n: n++ })
        const end = () => {
          running.delete(item.key)
          concurrent--
        }
        if (random() < 0.4) return new Promise<void>((resolve) => setImmediate(() => (end(), resolve())))
        end()
      },
      onError: (error) => {
        throw error
      },
    })
    for (let i = 0; i < 300; i++) {
      const key = keys[Math.floor(random() * keys.length)]!
      pool.push(key, { key, n: n++ })
      if (random() < 0.3) await new Promise<void>((resolve) => setImmediate(resolve))
    }
    await pool.idle()
    let total = 0
    for (const ns of seen.values()) {
      expect(ns).toEqual([...ns].sort((x, y) => x - y))
      total += ns.length
    }
    expect(total).toBe(n)
    expect(maxConcurrent).toBeLessThanOrEqual(2)
    expect(pool.depth).toBe(0)
  })

  it('runs different keys concurrently, at most `concurrency` at once', async () => {
    const t = gatedPool({ concurrency: 3 })
    for (const key of ['a', 'b', 'c', 'd', 'e']) await t.pool.submit(key, { key, n: 0 })
    await until(() => t.started.length === 3, 'three items to start')
    expect(t.inFlight).toBe(3)
    expect(t.started.map((i) => i.key)).toEqual(['a', 'b', 'c'])
    // nothing else starts while all three slots are busy
    await new Promise<void>((r) => setImmediate(r))
    expect(t.started.length).toBe(3)
    t.release('b', 0)
    await until(() => t.started.length === 4, 'd to start')
    expect(t.started[3]!.key).toBe('d')
    t.release('a', 0)
    t.release('c', 0)
    await until(() => t.started.length === 5, 'e to start')
    t.release('d', 0)
    t.release('e', 0)
    await t.pool.idle()
    expect(t.maxInFlight).toBe(3)
    expect(t.pool.depth).toBe(0)
  })

  it('submit waits while queueLimit items are queued and resumes as they drain (back-pressure)', async () => {
    const t = gatedPool({ concurrency: 1, queueLimit: 2 })
    await t.pool.submit('a', { key: 'a', n: 0 })
    await t.pool.submit('a', { key: 'a', n: 1 })
    expect(t.pool.depth).toBe(2)
    let third = false
    let fourth = false
    const p3 = t.pool.submit('a', { key: 'a', n: 2 }).then(() => (third = true))
    const p4 = t.pool.submit('b', { key: 'b', n: 0 }).then(() => (fourth = true))
    await until(() => t.isStarted('a', 0), 'a:0 to start')
    await new Promise<void>((r) => setImmediate(r))
    expect(third).toBe(false)
    expect(fourth).toBe(false)
    expect(t.pool.depth).toBe(2)

    t.release('a', 0)
    await until(() => third, 'the third submit to resolve')
    expect(fourth).toBe(false)
    expect(t.pool.depth).toBe(2)

    await until(() => t.isStarted('a', 1), 'a:1 to start')
    t.release('a', 1)
    await until(() => fourth, 'the fourth submit to resolve')
    await Promise.all([p3, p4])

    await until(() => t.isStarted('a', 2), 'a:2 to start')
    t.release('a', 2)
    await until(() => t.isStarted('b', 0), 'b:0 to start')
    t.release('b', 0)
    await t.pool.idle()
    expect(t.finished.map((i) => `${i.key}:${i.n}`)).toEqual(['a:0', 'a:1', 'a:2', 'b:0'])
  })

  it('push queues past the limit without waiting', async () => {
    const t = gatedPool({ concurrency: 1, queueLimit: 1 })
    t.pool.push('a', { key: 'a', n: 0 })
    t.pool.push('a', { key: 'a', n: 1 })
    t.pool.push('a', { key: 'a', n: 2 })
    expect(t.pool.depth).toBe(3)
    for (let n = 0; n < 3; n++) {
      await until(() => t.isStarted('a', n))
      t.release('a', n)
    }
    await t.pool.idle()
    expect(t.finished.map((i) => i.n)).toEqual([0, 1, 2])
  })

  it('reports a throwing or rejecting handler to onError and goes on with the next item', async () => {
    const boom = new Error('boom')
    const ran: number[] = []
    const errors: Array<[unknown, Item]> = []
    const pool = new HandlerPool<Item>({
      concurrency: 2,
      queueLimit: 10,
      run: (item) => {
        ran.push(item.n)
        if (item.n === 0) throw boom
        if (item.n === 1) return Promise.reject(new TypeError('rejected'))
      },
      onError: (error, item) => errors.push([error, item]),
    })
    for (let n = 0; n < 3; n++) await pool.submit('k', { key: 'k', n })
    await pool.idle()
    expect(ran).toEqual([0, 1, 2])
    expect(errors).toHaveLength(2)
    expect(errors[0]).toEqual([boom, { key: 'k', n: 0 }])
    expect(errors[1]![0]).toBeInstanceOf(TypeError)
    expect(errors[1]![1]).toEqual({ key: 'k', n: 1 })
    expect(pool.depth).toBe(0)
  })

  it('a rejection after awaiting is reported too, and frees its slot', async () => {
    const t = gatedPool({ concurrency: 1 })
    await t.pool.submit('a', { key: 'a', n: 0 })
    await t.pool.submit('b', { key: 'b', n: 0 })
    await until(() => t.isStarted('a', 0))
    t.fail('a', 0, new Error('late'))
    await until(() => t.isStarted('b', 0), 'b to start after a failed')
    t.release('b', 0)
    await t.pool.idle()
    expect(t.errors.map((e) => [(e.error as Error).message, e.item.key])).toEqual([['late', 'a']])
  })

  it('idle() resolves at once when empty, and only after the last item otherwise', async () => {
    const t = gatedPool({ concurrency: 2 })
    await t.pool.idle()
    await t.pool.submit('a', { key: 'a', n: 0 })
    await t.pool.submit('b', { key: 'b', n: 0 })
    let idle = false
    const p = t.pool.idle().then(() => (idle = true))
    await until(() => t.started.length === 2)
    t.release('a', 0)
    await until(() => t.finished.length === 1)
    await new Promise<void>((r) => setImmediate(r))
    expect(idle).toBe(false)
    t.release('b', 0)
    await p
    expect(t.pool.depth).toBe(0)
  })

  it('close() drops queued items, releases waiting submitters and idle waiters', async () => {
    const t = gatedPool({ concurrency: 1, queueLimit: 2 })
    await t.pool.submit('a', { key: 'a', n: 0 })
    await t.pool.submit('a', { key: 'a', n: 1 })
    const blocked = t.pool.submit('a', { key: 'a', n: 2 })
    let idle = false
    const idleP = t.pool.idle().then(() => (idle = true))
    await until(() => t.isStarted('a', 0))
    t.pool.close()
    await blocked // released, not queued
    // the running item finishes on its own; idle waits for it
    await new Promise<void>((r) => setImmediate(r))
    expect(idle).toBe(false)
    t.release('a', 0)
    await idleP
    expect(t.started.map((i) => i.n)).toEqual([0])
    expect(t.pool.depth).toBe(0)
    // after close, submit and push are no-ops
    await t.pool.submit('z', { key: 'z', n: 0 })
    t.pool.push('z', { key: 'z', n: 1 })
    await t.pool.idle()
    expect(t.started.map((i) => i.key)).toEqual(['a'])
  })

  it('close() with nothing running resolves idle() at once', async () => {
    const t = gatedPool()
    t.pool.close()
    await t.pool.idle()
    expect(t.pool.depth).toBe(0)
  })
})
