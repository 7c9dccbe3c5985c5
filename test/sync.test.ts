import { AccessDeniedError, ChangeRejectedError, ClosedError, Endpoint, InvalidArgumentError } from '@zinc/core'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { afterEach, describe, expect, it } from 'vitest'
import { converged, FAST, inprocCluster, waitFor, type InprocCluster } from './helpers.js'

type Board = { shapes: Record<string, { x: number; y?: number }>; list: string[] }

let cluster: InprocCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

describe('sync between a host and clients', () => {
  it('gives every endpoint the root state and converges concurrent changes', async () => {
    cluster = await inprocCluster(3)
    const { host, clients } = cluster
    expect(host.role).toBe('host')
    expect(clients.map((c) => c.role)).toEqual(['client', 'client', 'client'])
    const hostDoc = await host.open<Board>('board', { initial: { shapes: {}, list: [] } })
    const docs = await Promise.all(clients.map((c) => c.open<Board>('board', { initial: { shapes: { seeded: { x: 0 } }, list: ['x'] } })))
    // The opener's initial never replaces or merges into an existing document.
    for (const d of docs) expect(d.state).toEqual({ shapes: {}, list: [] })
    docs.forEach((d, i) => d.change((s) => void (s.shapes[`c${i}`] = { x: i })))
    docs.forEach((d, i) => d.change((s) => void s.list.push(`t${i}`)))
    hostDoc.change((s) => void s.list.push('host'))
    await Promise.all(docs.map((d) => d.synced()))
    const all = [hostDoc, ...docs]
    await waitFor(() => converged(all), 'convergence')
    expect(Object.keys(hostDoc.state.shapes).sort()).toEqual(['c0', 'c1', 'c2'])
    expect([...hostDoc.state.list].sort()).toEqual(['host', 't0', 't1', 't2'])
    expect(hostDoc.seq).toBe(7)
  })

  it('applies a local change at once and its echo only acknowledges it', async () => {
    cluster = await inprocCluster(2)
    const [a, b] = cluster.clients
    await cluster.host.open<Board>('doc', { initial: { shapes: {}, list: [] } })
    const docA = await a!.open<Board>('doc')
    const docB = await b!.open<Board>('doc')
    const seenA: number[] = []
    docA.subscribe((state) => seenA.push(state.list.length))
    const fragment = docA.change((s) => void s.list.push('one'))!
    expect(docA.state.list).toEqual(['one'])
    expect(fragment.seq).toBe(0)
    expect(docA.pendingCount).toBe(1)
    await expect(fragment.confirmed).resolves.toBe(1)
    await waitFor(() => docB.state.list.length === 1, 'b to see the change')
    expect(docA.state.list).toEqual(['one'])
    expect(docA.pendingCount).toBe(0)
    // One notification for the local change; none for its echo.
    expect(seenA).toEqual([1])
  })

  it('rebases pending changes on fragments from others', async () => {
    cluster = await inprocCluster(2)
    const [a, b] = cluster.clients
    const hostDoc = await cluster.host.open<Board>('doc', { initial: { shapes: {}, list: [] } })
    const docA = await a!.open<Board>('doc')
    const docB = await b!.open<Board>('doc')
    cluster.network.partition([cluster.nodeOf.get(a!)!], [cluster.nodeOf.get(cluster.host)!])
    docA.change((s) => void (s.shapes.mine = { x: 1 }))
    docB.change((s) => void (s.shapes.theirs = { x: 2 }))
    await waitFor(() => docA.state.shapes.theirs !== undefined || true)
    cluster.network.heal()
    await waitFor(() => converged([hostDoc, docA, docB]), 'convergence after heal')
    expect(docA.state.shapes).toEqual({ mine: { x: 1 }, theirs: { x: 2 } })
  })

  it('rejects a change whose path no longer resolves, rolls it back and reports it', async () => {
    cluster = await inprocCluster(2)
    const [a, b] = cluster.clients
    const hostDoc = await cluster.host.open<Board>('doc', { initial: { shapes: { s: { x: 0 } }, list: [] } })
    const docA = await a!.open<Board>('doc')
    const docB = await b!.open<Board>('doc')
    hostDoc.change((s) => void delete s.shapes.s)
    const rejected: Error[] = []
    docA.onRejected((error) => rejected.push(error))
    // A has not seen the delete yet when it edits the shape.
    const fragment = docA.change((s) => {
      if (s.shapes.s) s.shapes.s.x = 5
    })
    if (fragment) {
      await expect(fragment.confirmed).rejects.toBeInstanceOf(ChangeRejectedError)
      await waitFor(() => rejected.length === 1, 'the rejected event')
      expect(rejected[0]!.message).toMatch(/rejected by the root/)
    }
    await waitFor(() => converged([hostDoc, docA, docB]), 'convergence')
    expect(docA.state.shapes).toEqual({})
    expect(cluster.host.stats().rejected).toBe(fragment ? 1 : 0)
  })

  it('undo and redo send inverse changes that everyone sees', async () => {
    cluster = await inprocCluster(1)
    const [a] = cluster.clients
    const hostDoc = await cluster.host.open<Board>('doc', { initial: { shapes: {}, list: [] } })
    const docA = await a!.open<Board>('doc')
    docA.change((s) => void (s.shapes.one = { x: 1 }))
    docA.change((s) => void (s.shapes.one!.x = 2))
    hostDoc.change((s) => void s.list.push('host edit'))
    expect(docA.undo()).toBe(true)
    expect(docA.state.shapes.one).toEqual({ x: 1 })
    expect(docA.undo()).toBe(true)
    expect(docA.state.shapes.one).toBeUndefined()
    expect(docA.undo()).toBe(false)
    expect(docA.redo()).toBe(true)
    expect(docA.state.shapes.one).toEqual({ x: 1 })
    await docA.synced()
    await waitFor(() => converged([hostDoc, docA]), 'convergence')
    // Someone else's change is never undone.
    expect(hostDoc.state.list).toEqual(['host edit'])
    expect(hostDoc.state.shapes.one).toEqual({ x: 1 })
  })

  it('shares presence and forgets it when the peer leaves', async () => {
    cluster = await inprocCluster(2)
    const [a, b] = cluster.clients
    await cluster.host.open('doc')
    const docA = await a!.open('doc')
    const docB = await b!.open('doc')
    docA.presence.set({ cursor: [1, 2], name: 'Ada' })
    await waitFor(() => docB.presence.get().get(a!.id) !== undefined, 'presence at b')
    expect(docB.presence.get().get(a!.id)).toEqual({ cursor: [1, 2], name: 'Ada' })
    await a!.close()
    await waitFor(() => !docB.presence.get().has(a!.id), 'presence gone after a left')
  })

  it('delivers application messages to every other endpoint, never back to the origin', async () => {
    cluster = await inprocCluster(2)
    const [a, b] = cluster.clients
    const got: string[] = []
    cluster.host.handle('chat', (m) => void got.push(`host:${m.text()}`))
    a!.handle('chat', (m) => void got.push(`a:${m.text()}`))
    b!.handle('chat', { handle: (m) => void got.push(`b:${m.json<{ t: string }>().t}`) })
    await a!.publish('chat', JSON.stringify({ t: 'from-a' }))
    await waitFor(() => got.length === 2, 'two deliveries')
    expect(got.sort()).toEqual(['b:from-a', 'host:{"t":"from-a"}'])
    await cluster.host.publish('chat', JSON.stringify({ t: 'from-host' }))
    await waitFor(() => got.length === 4, 'host message delivered')
    expect(got.filter((g) => g.startsWith('host:'))).toHaveLength(1)
  })

  it('counts a handler that throws and keeps handling', async () => {
    cluster = await inprocCluster(1)
    const [a] = cluster.clients
    let calls = 0
    a!.handle('boom', () => {
      calls++
      throw new Error('handler bug')
    })
    await cluster.host.publish('boom', 'x')
    await cluster.host.publish('boom', 'y')
    await waitFor(() => calls === 2, 'both messages handled')
    await waitFor(() => a!.stats().handlerErrors === 2, 'errors counted')
    const doc = await a!.open('still-works')
    expect(doc.state).toEqual({})
  })

  it('refuses calls after close with a clear error, and close is idempotent', async () => {
    cluster = await inprocCluster(1)
    const [a] = cluster.clients
    const doc = await a!.open<Board>('doc', { initial: { shapes: {}, list: [] } })
    await doc.close()
    expect(() => doc.change((s) => void s.list.push('x'))).toThrow(ClosedError)
    await a!.close()
    await a!.close()
    await expect(a!.open('doc')).rejects.toThrow(ClosedError)
    await expect(a!.publish('k', 'x')).rejects.toThrow(/closed/)
    expect(() => a!.handle('k', () => {})).toThrow(ClosedError)
  })

  it('rejects bad arguments with errors that say what to do', async () => {
    cluster = await inprocCluster(1)
    const [a] = cluster.clients
    await expect(a!.open('')).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(a!.open('x', { initial: 5 as never })).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(a!.publish('', 'x')).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(Endpoint.start({} as never)).rejects.toBeInstanceOf(InvalidArgumentError)
    const network = new InprocNetwork()
    await expect(Endpoint.start({ transport: new InprocTransport(network) })).rejects.toThrow(/needs `bind`/)
  })
})

describe('access control', () => {
  it('refuses a join whose token the parent does not accept', async () => {
    const network = new InprocNetwork()
    const host = await Endpoint.start({
      ...FAST,
      transport: new InprocTransport(network),
      bind: { inbound: 'inproc://auth-in', outbound: 'inproc://auth-out' },
      authenticate: ({ token }) => token === 'secret' || 'unknown token',
    })
    try {
      await expect(Endpoint.start({ ...FAST, transport: new InprocTransport(network), join: host.addresses, token: 'wrong' })).rejects.toThrow(/refused.*unknown token/)
      const ok = await Endpoint.start({ ...FAST, transport: new InprocTransport(network), join: host.addresses, token: 'secret' })
      expect(ok.role).toBe('client')
      await ok.close()
    } finally {
      await host.close()
    }
  })

  it('refuses open and change per document through authorize', async () => {
    const network = new InprocNetwork()
    let reader = ''
    const host = await Endpoint.start({
      ...FAST,
      transport: new InprocTransport(network),
      bind: { inbound: 'inproc://authz-in', outbound: 'inproc://authz-out' },
      authorize: ({ endpoint, doc, action }) => {
        if (doc === 'secret') return 'secret is private'
        if (action === 'change' && endpoint === reader) return 'read-only access'
        return true
      },
    })
    const a = await Endpoint.start({ ...FAST, transport: new InprocTransport(network), join: host.addresses })
    reader = a.id
    try {
      await expect(a.open('secret')).rejects.toBeInstanceOf(AccessDeniedError)
      await expect(a.open('secret')).rejects.toThrow(/secret is private/)
      const doc = await a.open<{ n: number }>('public', { initial: { n: 0 } })
      const fragment = doc.change((s) => void (s.n = 1))!
      await expect(fragment.confirmed).rejects.toThrow(/read-only access/)
      await waitFor(() => doc.state.n === 0, 'rollback')
      await expect(doc.synced()).resolves.toBeUndefined()
    } finally {
      await a.close()
      await host.close()
    }
  })
})

describe('undo groups', () => {
  it('changes made with one undoGroup undo and redo as one step', async () => {
    cluster = await inprocCluster(1)
    const [a] = cluster.clients
    const hostDoc = await cluster.host.open<Board>('doc', { initial: { shapes: {}, list: [] } })
    const doc = await a!.open<Board>('doc')
    doc.change((s) => void (s.shapes.before = { x: 0 }))
    for (let i = 1; i <= 5; i++) doc.change((s) => void (s.shapes.stroke = { x: i }), { undoGroup: 'stroke-1' })
    expect(doc.undo()).toBe(true)
    expect(doc.state.shapes).toEqual({ before: { x: 0 } })
    expect(doc.redo()).toBe(true)
    expect(doc.state.shapes).toEqual({ before: { x: 0 }, stroke: { x: 5 } })
    await doc.synced()
    await waitFor(() => converged([hostDoc, doc]), 'convergence')
  })
})

describe('application messages keep their payload type', () => {
  it('bytes, text and JSON values arrive as they were published', async () => {
    cluster = await inprocCluster(1)
    const [a] = cluster.clients
    const got: unknown[] = []
    a!.handle('any', (m) => void got.push(m.payload))
    await cluster.host.publish('any', new Uint8Array([1, 2, 3]))
    await cluster.host.publish('any', 'plain text')
    await cluster.host.publish('any', { shape: 's1', points: [1, 2] })
    await cluster.host.publish('any', 42)
    await waitFor(() => got.length === 4, 'four messages')
    expect(got[0]).toEqual(new Uint8Array([1, 2, 3]))
    expect(got.slice(1)).toEqual(['plain text', { shape: 's1', points: [1, 2] }, 42])
    await expect(cluster.host.publish('any', undefined)).rejects.toBeInstanceOf(InvalidArgumentError)
  })
})

describe('keyed collections under concurrency', () => {
  it('two endpoints inserting different ids into the same (empty) bucket both keep their entry', async () => {
    const { keyed, bucketPath } = await import('@zinc/core')
    cluster = await inprocCluster(2)
    const [a, b] = cluster.clients
    type Canvas = { shapes: import('@zinc/core').Keyed<{ x: number }> }
    await cluster.host.open<Canvas>('k', { initial: { shapes: keyed.empty() } })
    const docA = await a!.open<Canvas>('k')
    const docB = await b!.open<Canvas>('k')
    // Two ids whose first-level bucket is the same, so on-demand buckets would collide.
    const first = bucketPath('a0')[0]
    const other = Array.from({ length: 1000 }, (_, i) => `b${i}`).find((id) => bucketPath(id)[0] === first)!
    const fa = docA.change((d) => keyed.set(d.shapes, 'a0', { x: 1 }))!
    const fb = docB.change((d) => keyed.set(d.shapes, other, { x: 2 }))!
    await Promise.all([fa.confirmed, fb.confirmed])
    await waitFor(() => converged([docA, docB]), 'convergence')
    expect(keyed.has(docA.state.shapes, 'a0') && keyed.has(docA.state.shapes, other)).toBe(true)
  })
})
