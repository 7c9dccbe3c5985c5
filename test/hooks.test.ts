import { afterEach, describe, expect, it } from 'vitest'
import { ChangeRejectedError, Endpoint, HookError, MemoryStorage, type ChangeEvent, type Document, type EndpointOptions } from '@zinc/core'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { converged, FAST, inprocCluster, waitFor } from './helpers.js'

type List = { items: number[] }

const open: Endpoint[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()))
})

/** A root with `options` (its hooks) and `n` clients joined to it. */
async function tree(options: Partial<EndpointOptions>, n = 1): Promise<{ host: Endpoint; clients: Endpoint[] }> {
  const network = new InprocNetwork()
  const host = await Endpoint.start({ ...FAST, ...options, transport: new InprocTransport(network), bind: { inbound: network.uniqueAddress('h-in'), outbound: network.uniqueAddress('h-out') } })
  open.push(host)
  const clients: Endpoint[] = []
  for (let i = 0; i < n; i++) {
    const c = await Endpoint.start({ ...FAST, transport: new InprocTransport(network), join: host.addresses })
    open.push(c)
    clients.push(c)
  }
  return { host, clients }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const last = (s: List) => s.items[s.items.length - 1]

describe('validate', () => {
  it('refuses a change with its reason (confirmed and onRejected), sees before/after, and keeps the rest', async () => {
    const seen: Array<{ endpoint: string; doc: string; before: unknown; after: unknown }> = []
    const { host, clients } = await tree({
      validate: ({ endpoint, doc, before, after, ops }) => {
        seen.push({ endpoint, doc, before, after })
        expect(ops).not.toBeNull()
        return last(after as List)! < 0 ? 'items must not be negative' : true
      },
    })
    const [a] = clients
    const doc = await a!.open<List>('v', { initial: { items: [] } })
    const rejections: Error[] = []
    doc.onRejected((error) => rejections.push(error))
    const ok = doc.change((d) => void d.items.push(1))!
    const bad = doc.change((d) => void d.items.push(-1))!
    await expect(ok.confirmed).resolves.toBeGreaterThan(0)
    await expect(bad.confirmed).rejects.toBeInstanceOf(ChangeRejectedError)
    await expect(bad.confirmed).rejects.toThrow(/items must not be negative/)
    await waitFor(() => rejections.length === 1, 'onRejected')
    expect(rejections[0]!.message).toMatch(/items must not be negative/)
    doc.change((d) => void d.items.push(2))
    await doc.synced()
    const hostDoc = await host.open<List>('v')
    await waitFor(() => hostDoc.seq === doc.seq && JSON.stringify(doc.state) === JSON.stringify(hostDoc.state), 'convergence')
    expect(hostDoc.state.items).toEqual([1, 2])
    expect(seen[0]).toMatchObject({ endpoint: a!.id, doc: 'v', before: { items: [] }, after: { items: [1] } })
    // The root's own changes are the application's code: not validated.
    hostDoc.change((d) => void d.items.push(-5))
    await hostDoc.synced()
    expect(seen.every((s) => s.endpoint === a!.id)).toBe(true)
  })

  it('an async validate keeps each origin in order, with a refusal in the middle of bursts from two clients', async () => {
    const { host, clients } = await tree(
      {
        validate: async ({ before, after }) => {
          await sleep(Math.random() * 4)
          // Concurrent pushes land in either order: the new item is the one not there before.
          const added = (after as List).items.find((x) => !(before as List).items.includes(x))!
          return added % 10 === 7 ? `no sevens (${added})` : true
        },
      },
      2,
    )
    const docs = await Promise.all(clients.map((c) => c.open<List>('order', { initial: { items: [] } })))
    const fragments = []
    for (let i = 0; i < 30; i++) {
      for (const [k, doc] of docs.entries()) fragments.push(doc.change((d) => void d.items.push(k * 1000 + i))!)
    }
    const settled = await Promise.allSettled(fragments.map((f) => f.confirmed))
    const refused = settled.filter((s) => s.status === 'rejected')
    // Exactly the sevens are refused, each with its own reason; everything else is in.
    expect(refused.length).toBe(6)
    for (const r of refused) expect(String((r as PromiseRejectedResult).reason)).toMatch(/no sevens \(\d*7\)/)
    const hostDoc = await host.open<List>('order')
    await waitFor(() => docs.every((d) => d.pendingCount === 0 && d.seq === hostDoc.seq), 'convergence')
    for (const d of docs) expect(d.state).toEqual(hostDoc.state)
    for (const k of [0, 1]) {
      const mine = hostDoc.state.items.filter((x) => Math.floor(x / 1000) === k).map((x) => x % 1000)
      expect(mine).toEqual([...Array(30).keys()].filter((i) => i % 10 !== 7))
    }
  })

  it("an async validate with storage and the root's own changes in between: one order, every replica equal", async () => {
    const { host, clients } = await tree(
      {
        storage: new MemoryStorage(),
        validate: async ({ before, after }) => {
          await sleep(Math.random() * 3)
          const added = (after as List).items.find((x) => !(before as List).items.includes(x))
          return added === undefined || added % 5 !== 3 || 'no threes'
        },
      },
      2,
    )
    const docs = await Promise.all(clients.map((c) => c.open<List>('mixed', { initial: { items: [] } })))
    const hostDoc = await host.open<List>('mixed')
    const all = []
    for (let i = 0; i < 20; i++) {
      for (const [k, doc] of docs.entries()) all.push(doc.change((d) => void d.items.push((k + 1) * 1000 + i))!)
      all.push(hostDoc.change((d) => void d.items.push(i))!) // the root's own: not validated
    }
    await Promise.allSettled(all.map((f) => f.confirmed))
    await waitFor(() => [...docs, hostDoc].every((d) => d.pendingCount === 0) && docs.every((d) => d.seq === hostDoc.seq), 'convergence')
    for (const d of docs) expect(d.state).toEqual(hostDoc.state)
    for (const k of [0, 1, 2]) {
      const mine = hostDoc.state.items.filter((x) => Math.floor(x / 1000) === k).map((x) => x % 1000)
      expect(mine).toEqual([...Array(20).keys()].filter((i) => k === 0 || i % 5 !== 3))
    }
  })

  for (const seed of [3, 11]) {
    it(`seed ${seed}: an async validate on a network that drops, duplicates and delays: each valid change once, in its author's order`, async () => {
      const network = new InprocNetwork({ seed })
      const validate = async ({ before, after }: { before: unknown; after: unknown }) => {
        await sleep(Math.random() * 3)
        const added = (after as List).items.find((x) => !(before as List).items.includes(x))
        return added === undefined || added % 7 !== 3 || 'no sevens-and-threes'
      }
      const cluster = await inprocCluster(3, { validate }, network)
      open.push(...cluster.all)
      const docs = await Promise.all(cluster.clients.map((c) => c.open<List>('f', { initial: { items: [] } })))
      const hostDoc = await cluster.host.open<List>('f')
      network.faults({ drop: 0.05, duplicate: 0.05, delay: { probability: 0.1, maxMs: 20 } })
      const fragments = []
      for (let i = 0; i < 30; i++) {
        for (const [k, doc] of docs.entries()) fragments.push({ k, i, f: doc.change((d) => void d.items.push((k + 1) * 1000 + i))! })
        if (i % 5 === 0) await new Promise((r) => setImmediate(r))
      }
      const settled = await Promise.allSettled(fragments.map((x) => x.f.confirmed))
      network.faults(null)
      await waitFor(() => converged([hostDoc, ...docs] as Document<unknown>[]), `convergence of seed ${seed}`, 60_000)
      // Exactly the invalid ones refused; every valid one in, once, in its author's order.
      const refused = fragments.filter((_, n) => settled[n]!.status === 'rejected').map((x) => (x.k + 1) * 1000 + x.i)
      expect(refused.sort()).toEqual(
        fragments
          .map((x) => (x.k + 1) * 1000 + x.i)
          .filter((v) => v % 7 === 3)
          .sort(),
      )
      for (const k of [0, 1, 2]) {
        const mine = hostDoc.state.items.filter((x) => Math.floor(x / 1000) === k + 1)
        expect(mine).toEqual([...Array(30).keys()].map((i) => (k + 1) * 1000 + i).filter((v) => v % 7 !== 3))
      }
      expect(network.stats().droppedByFault).toBeGreaterThan(0)
    })
  }

  it('a validate hook that throws refuses that change only, saying so; the root keeps serving', async () => {
    const { host, clients } = await tree({
      validate: ({ after }) => {
        if (last(after as List) === 2) throw new Error('schema service down')
        return true
      },
    })
    const errors: Error[] = []
    host.on('error', (e) => errors.push(e))
    const doc = await clients[0]!.open<List>('t', { initial: { items: [] } })
    const one = doc.change((d) => void d.items.push(1))!
    const two = doc.change((d) => void d.items.push(2))!
    const three = doc.change((d) => void d.items.push(3))!
    await expect(one.confirmed).resolves.toBeGreaterThan(0)
    await expect(two.confirmed).rejects.toThrow(/validate hook failed \(schema service down\)/)
    // Made on top of the refused change: rebased over its rollback and sequenced.
    await expect(three.confirmed).resolves.toBeGreaterThan(0)
    await waitFor(() => doc.pendingCount === 0, 'settled')
    expect(doc.state.items).toEqual([1, 3])
    expect(host.stats().hookErrors).toBe(1)
    await waitFor(() => errors.length === 1, 'error event')
    expect(errors[0]).toBeInstanceOf(HookError)
  })

  it('a validate hook that hangs times out: that change is refused, later ones go through, other documents go on meanwhile', async () => {
    const { clients } = await tree({
      hookTimeoutMs: 2000,
      validate: ({ doc, after }) => (doc === 'h' && last(after as List) === 1 ? new Promise<boolean>(() => {}) : true),
    })
    const doc = await clients[0]!.open<List>('h', { initial: { items: [] } })
    const other = await clients[0]!.open<List>('other', { initial: { items: [] } })
    const hung = doc.change((d) => void d.items.push(1))!
    const next = doc.change((d) => void d.items.push(2))!
    // While 'h' waits for its verdict, another document is sequenced.
    const elsewhere = other.change((d) => void d.items.push(9))!
    const firstSettled = await Promise.race([
      elsewhere.confirmed.then(() => 'other'),
      hung.confirmed.then(
        () => 'h',
        () => 'h',
      ),
    ])
    expect(firstSettled).toBe('other')
    await expect(hung.confirmed).rejects.toThrow(/validate hook did not answer within 2000 ms/)
    await expect(next.confirmed).resolves.toBeGreaterThan(0)
    const later = doc.change((d) => void d.items.push(3))!
    await expect(later.confirmed).resolves.toBeGreaterThan(0)
    await waitFor(() => doc.pendingCount === 0, 'settled')
    expect(doc.state.items).toEqual([2, 3])
  })
})

describe('onChange', () => {
  it('runs once per change, in seq order, after it is durable; a throwing or hanging call does not stop the next', async () => {
    const storage = new MemoryStorage()
    const calls: ChangeEvent[] = []
    const durableAtCall: boolean[] = []
    const { host, clients } = await tree({
      storage,
      hookTimeoutMs: 200,
      onChange: async (event) => {
        calls.push(event)
        const stored = await storage.load(event.doc)
        durableAtCall.push((stored?.fragments ?? []).some((f) => f.seq === event.seq))
        const value = last(event.after as List)
        if (value === 2) throw new Error('webhook down')
        if (value === 3) await new Promise(() => {})
      },
    })
    const doc = await clients[0]!.open<List>('c', { initial: { items: [] } })
    for (let i = 1; i <= 5; i++) doc.change((d) => void d.items.push(i))
    await doc.synced()
    await waitFor(() => calls.length === 5, 'five onChange calls')
    expect(calls.map((c) => c.seq)).toEqual([1, 2, 3, 4, 5])
    expect(calls.map((c) => last(c.after as List))).toEqual([1, 2, 3, 4, 5])
    expect(calls[0]).toMatchObject({ doc: 'c', endpoint: clients[0]!.id, clientSeq: 1, before: { items: [] } })
    expect(durableAtCall.every(Boolean)).toBe(true)
    await waitFor(() => host.stats().hookErrors === 2, 'the throw and the timeout counted')
    expect(doc.state.items).toEqual([1, 2, 3, 4, 5])
  })

  it('close does not wait for a queue of hanging onChange calls: those not started are skipped', async () => {
    let calls = 0
    const hang = () => {
      calls++
      return new Promise<void>(() => {})
    }
    const { host } = await tree({ hookTimeoutMs: 300, onChange: hang }, 0)
    const doc = await host.open<List>('q', { initial: { items: [] } })
    for (let i = 0; i < 50; i++) doc.change((d) => void d.items.push(i))
    await waitFor(() => calls >= 1, 'the first onChange call')
    await host.close()
    expect(calls).toBeLessThan(50)
    expect(host.stats().hookErrors).toBeGreaterThanOrEqual(1)
  })
})

describe('onLoad and onStore', () => {
  it("load a document from the application's database and store it back, debounced and on close", async () => {
    const db = new Map<string, { seq: number; state: unknown }>([['known', { seq: 0, state: { items: [42] } }]])
    let loads = 0
    let stores = 0
    const network = new InprocNetwork()
    const hooks: Partial<EndpointOptions> = {
      storeDebounceMs: 50,
      onLoad: ({ doc }) => {
        loads++
        return db.get(doc)?.state
      },
      onStore: async ({ doc, seq, state }) => {
        stores++
        db.set(doc, { seq, state })
      },
    }
    const host = await Endpoint.start({ ...FAST, ...hooks, transport: new InprocTransport(network), bind: { inbound: 'inproc://db-in', outbound: 'inproc://db-out' } })
    open.push(host)
    const client = await Endpoint.start({ ...FAST, transport: new InprocTransport(network), join: host.addresses })
    open.push(client)
    // Known to the application: its state wins over the opener's initial.
    const known = await client.open<List>('known', { initial: { items: [] } })
    expect(known.state.items).toEqual([42])
    // Unknown: the opener's initial.
    const fresh = await client.open<List>('fresh', { initial: { items: [7] } })
    expect(fresh.state.items).toEqual([7])
    expect(loads).toBe(2)
    for (let i = 0; i < 20; i++) known.change((d) => void d.items.push(i))
    await known.synced()
    await waitFor(() => (db.get('known')?.seq ?? 0) === known.seq, 'a debounced store')
    expect((db.get('known')!.state as List).items).toHaveLength(21)
    expect(stores).toBeLessThan(20)
    fresh.change((d) => void d.items.push(8))
    await fresh.synced()
    await host.close()
    // Close stores what changed since the last store.
    expect(db.get('fresh')).toEqual({ seq: 1, state: { items: [7, 8] } })
  })

  it('an onLoad that throws or hangs refuses that open for now; the retried open is served', async () => {
    let attempts = 0
    const { host, clients } = await tree({
      hookTimeoutMs: 150,
      onLoad: () => {
        attempts++
        if (attempts === 1) throw new Error('database down')
        if (attempts === 2) return new Promise(() => {})
        return { items: [1] }
      },
    })
    const doc = await clients[0]!.open<List>('retry', { initial: { items: [] }, timeoutMs: 20_000 })
    expect(doc.state.items).toEqual([1])
    expect(attempts).toBe(3)
    expect(host.stats().hookErrors).toBe(2)
    // The root's own open hears the hook's error by name.
    const failing = await tree({ onLoad: () => Promise.reject(new Error('nope')) }, 0)
    await expect(failing.host.open('x')).rejects.toBeInstanceOf(HookError)
  })

  it('an onStore that fails is logged, counted and retried at close', async () => {
    let calls = 0
    const stored: unknown[] = []
    const { host } = await tree({
      storeDebounceMs: 20,
      onStore: ({ state }) => {
        calls++
        if (calls === 1) throw new Error('disk full')
        stored.push(state)
      },
    })
    const doc = await host.open<List>('s', { initial: { items: [] } })
    doc.change((d) => void d.items.push(1))
    await waitFor(() => calls === 1, 'first store')
    await host.close()
    expect(stored).toEqual([{ items: [1] }])
    expect(host.stats().hookErrors).toBe(1)
  })
})
