import { afterEach, describe, expect, it } from 'vitest'
import { AbortError, ClosedError, Endpoint, TimeoutError, type DocumentChange, type DocumentStatus } from '@zinc/core'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { FAST, inprocCluster, waitFor, type InprocCluster } from './helpers.js'

type List = { items: number[] }
let cluster: InprocCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

const aborted = () => AbortSignal.abort(new Error('not an AbortError'))

describe('caught-up: doc.status, doc.ready, doc.whenSeq', () => {
  it('a replica is caught up once its changes are confirmed and it holds what the root has', async () => {
    cluster = await inprocCluster(2)
    const [a, b] = cluster.clients
    const docA = await a!.open<List>('s', { initial: { items: [] } })
    const docB = await b!.open<List>('s')
    await docA.ready
    expect(docA.status).toBe('caught-up')
    const seen: DocumentStatus[] = []
    docA.on('status', (s) => seen.push(s))
    const f = docA.change((d) => void d.items.push(1))!
    expect(docA.status).toBe('syncing')
    const seq = await f.confirmed
    await waitFor(() => docA.status === 'caught-up', 'A caught up')
    expect(seen).toEqual(['syncing', 'caught-up'])
    // B learns of seq from the fragment (or the root's heartbeat) and reaches it.
    await docB.whenSeq(seq, { timeoutMs: 20_000 })
    expect(docB.state.items).toEqual([1])
    await waitFor(() => docB.status === 'caught-up', 'B caught up')
  })

  it('whenSeq rejects with AbortError, TimeoutError, or ClosedError when the document closes', async () => {
    cluster = await inprocCluster(1)
    const doc = await cluster.clients[0]!.open<List>('w', { initial: { items: [] } })
    await expect(doc.whenSeq(99, { signal: aborted() })).rejects.toBeInstanceOf(AbortError)
    const controller = new AbortController()
    const waiting = doc.whenSeq(99, { signal: controller.signal })
    controller.abort()
    await expect(waiting).rejects.toBeInstanceOf(AbortError)
    await expect(doc.whenSeq(99, { timeoutMs: 20 })).rejects.toBeInstanceOf(TimeoutError)
    const closing = doc.whenSeq(99)
    await doc.close()
    await expect(closing).rejects.toBeInstanceOf(ClosedError)
    await expect(doc.whenSeq(0)).rejects.toBeInstanceOf(ClosedError)
  })
})

describe('AbortSignal: every wait rejects with AbortError', () => {
  it('open, synced and publish', async () => {
    cluster = await inprocCluster(1)
    const client = cluster.clients[0]!
    await expect(client.open('x', { signal: aborted() })).rejects.toBeInstanceOf(AbortError)
    const doc = await client.open<List>('x', { initial: { items: [] } })
    await expect(doc.synced({ signal: aborted() })).rejects.toBeInstanceOf(AbortError)
    doc.change((d) => void d.items.push(1))
    await expect(doc.synced({ signal: aborted() })).rejects.toBeInstanceOf(AbortError)
    await doc.synced()
    await expect(client.publish('chat', 'hi', { signal: aborted() })).rejects.toBeInstanceOf(AbortError)
  })

  it('start, before it begins and while it waits for a welcome; what it opened is released', async () => {
    const network = new InprocNetwork()
    await expect(Endpoint.start({ ...FAST, transport: new InprocTransport(network), bind: { inbound: 'inproc://a-in', outbound: 'inproc://a-out' }, signal: aborted() })).rejects.toBeInstanceOf(
      AbortError,
    )
    // A parent that never decides: the join waits until aborted.
    const host = await Endpoint.start({ ...FAST, transport: new InprocTransport(network), bind: { inbound: 'inproc://h-in', outbound: 'inproc://h-out' }, authenticate: () => new Promise(() => {}) })
    try {
      const controller = new AbortController()
      const starting = Endpoint.start({
        ...FAST,
        transport: new InprocTransport(network),
        bind: { inbound: 'inproc://c-in', outbound: 'inproc://c-out' },
        join: host.addresses,
        signal: controller.signal,
      })
      setTimeout(() => controller.abort(), 50)
      await expect(starting).rejects.toBeInstanceOf(AbortError)
      // Its addresses were released: a new endpoint binds them.
      const again = await Endpoint.start({ ...FAST, transport: new InprocTransport(network), bind: { inbound: 'inproc://c-in', outbound: 'inproc://c-out' } })
      await again.close()
    } finally {
      await host.close()
    }
  })
})

describe('emitters: on, once, off', () => {
  it('on Endpoint and Document', async () => {
    cluster = await inprocCluster(1)
    const client = cluster.clients[0]!
    const doc = await client.open<List>('e', { initial: { items: [] } })
    const onceCalls: number[] = []
    const onCalls: number[] = []
    const removed: number[] = []
    doc.once('change', (s) => onceCalls.push(s.items.length))
    doc.on('change', (s) => onCalls.push(s.items.length))
    const gone = (s: List) => removed.push(s.items.length)
    doc.on('change', gone)
    doc.off('change', gone)
    doc.change((d) => void d.items.push(1))
    doc.change((d) => void d.items.push(2))
    await waitFor(() => onCalls.length === 2, 'two change events')
    expect(onceCalls).toEqual([1])
    expect(removed).toEqual([])
    const roles: string[] = []
    const listener = (role: string) => roles.push(role)
    client.on('role', listener)
    client.off('role', listener)
    let peers = 0
    cluster.host.once('peers', () => peers++)
    const late = await Endpoint.start({ ...FAST, transport: new InprocTransport(cluster.network), join: cluster.host.addresses })
    await waitFor(() => peers === 1, 'one peers event')
    await late.close()
    await new Promise((r) => setTimeout(r, 50))
    expect(peers).toBe(1)
    expect(roles).toEqual([])
  })

  it('close() releases every listener of that handle, presence.subscribe included', async () => {
    cluster = await inprocCluster(2)
    const [a, b] = cluster.clients
    const kept = await a!.open<List, { name: string }>('p', { initial: { items: [] } })
    const closed = await a!.open<List, { name: string }>('p')
    const heardClosed: string[] = []
    const heardKept: string[] = []
    closed.presence.subscribe((all) => heardClosed.push([...all.values()].map((v) => v.name).join()))
    closed.subscribe(() => heardClosed.push('change'))
    kept.presence.subscribe((all) => heardKept.push([...all.values()].map((v) => v.name).join()))
    await closed[Symbol.asyncDispose]()
    const other = await b!.open<List, { name: string }>('p')
    other.presence.set({ name: 'grace' })
    other.change((d) => void d.items.push(1))
    await waitFor(() => heardKept.includes('grace') && kept.state.items.length === 1, 'the kept handle hears')
    expect(heardClosed).toEqual([])
  })
})

describe('doc.changes(): an async iterator of changes', () => {
  it('yields each change, ends on close, rejects with AbortError on abort', async () => {
    cluster = await inprocCluster(1)
    const doc = await cluster.clients[0]!.open<List>('i', { initial: { items: [] } })
    const got: DocumentChange<List>[] = []
    const reading = (async () => {
      for await (const change of doc) got.push(change)
    })()
    for (let i = 1; i <= 3; i++) doc.change((d) => void d.items.push(i))
    await waitFor(() => got.length === 3, 'three changes')
    expect(got.map((c) => c.state.items.length)).toEqual([1, 2, 3])
    expect(got[0]!.fragment?.local).toBe(true)
    const controller = new AbortController()
    const aborting = (async () => {
      for await (const _ of doc.changes({ signal: controller.signal })) void _
    })()
    controller.abort()
    await expect(aborting).rejects.toBeInstanceOf(AbortError)
    await doc.close()
    await reading // ended by close
  })

  it('leaving the loop releases its listener', async () => {
    cluster = await inprocCluster(1)
    const doc = await cluster.clients[0]!.open<List>('j', { initial: { items: [] } })
    const stream = doc.changes()
    doc.change((d) => void d.items.push(1))
    const first = await stream.next()
    expect(first.done).toBe(false)
    await stream.return!()
    doc.change((d) => void d.items.push(2))
    expect((await stream.next()).done).toBe(true)
  })
})

describe('transports alike', () => {
  it('every transport has on/once/off, a closed event, asyncDispose and stats in one shape', async () => {
    const { WsServerTransport } = await import('@zinc/transport-ws')
    const { ZmqTransport } = await import('@zinc/transport-zmq')
    const transports = [new InprocTransport(new InprocNetwork()), new WsServerTransport(), new ZmqTransport()]
    for (const t of transports) {
      let closed = 0
      const removed = () => closed--
      t.once('closed', () => closed++)
      t.on('closed', removed)
      t.off('closed', removed)
      expect(Object.keys(t.stats())).toEqual(expect.arrayContaining(['sent', 'received', 'droppedByHwm', 'droppedTooLarge', 'malformed']))
      await t[Symbol.asyncDispose]()
      await t.close() // idempotent: no second event
      await waitFor(() => closed === 1, `${t.name}: one closed event`)
      await new Promise((r) => setTimeout(r, 10))
      expect(closed).toBe(1)
    }
  })

  it('endpoint.stats().wire reports what the transport counted on the wire', async () => {
    cluster = await inprocCluster(1)
    const doc = await cluster.clients[0]!.open<List>('wire', { initial: { items: [] } })
    doc.change((d) => void d.items.push(1))
    await doc.synced()
    const wire = cluster.clients[0]!.stats().wire!
    expect(wire.sent).toBeGreaterThan(0)
    expect(wire.received).toBeGreaterThan(0)
    expect(wire).toMatchObject({ droppedByHwm: expect.any(Number), droppedTooLarge: expect.any(Number), malformed: 0 })
  })
})
