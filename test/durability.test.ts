import { Endpoint, MemoryStorage, newEndpointId, type Document } from '@zinc/core'
import { LmdbStorage } from '@zinc/storage-lmdb'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { converged, FAST, waitFor } from './helpers.js'

type Shared = { log: string[] }
const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

describe('durable roots (in process)', () => {
  it('a restarted root on the same storage has every acknowledged change, once', async () => {
    const storage = new MemoryStorage()
    const network = new InprocNetwork()
    const bind = { inbound: 'inproc://durable-in', outbound: 'inproc://durable-out' }
    let root = await Endpoint.start({ ...FAST, snapshotEvery: 25, transport: new InprocTransport(network, { node: 'root' }), bind, storage })
    // The client binds nothing: it cannot be promoted, so it waits for the root to come back.
    const client = await Endpoint.start({ ...FAST, transport: new InprocTransport(network, { node: 'client' }), join: bind })
    const rootDoc = await root.open<Shared>('doc', { initial: { log: [] } })
    const doc = await client.open<Shared>('doc')
    const acknowledged: string[] = []
    for (let i = 0; i < 60; i++) doc.change((s) => void s.log.push(`a${i}`))!.confirmed.then(() => acknowledged.push(`a${i}`))
    await doc.synced()
    for (let i = 0; i < 5; i++) rootDoc.change((s) => void s.log.push(`r${i}`))
    await rootDoc.synced()
    // Changes in flight when the root dies.
    for (let i = 60; i < 80; i++) doc.change((s) => void s.log.push(`a${i}`))
    const lost = new Promise<void>((resolve) => client.on('parent-lost', () => resolve()))
    network.kill('root')
    await root.close()
    await lost
    root = await Endpoint.start({ ...FAST, transport: new InprocTransport(network, { node: 'root2' }), bind, storage })
    try {
      const reopened = await root.open<Shared>('doc', { initial: { log: ['must not be used'] } })
      for (const token of acknowledged) expect(reopened.state.log).toContain(token)
      await waitFor(() => converged([reopened, doc] as Document<unknown>[]), 'the client catches up with the restarted root', 30_000)
      const log = reopened.state.log
      expect(new Set(log).size).toBe(log.length)
      for (let i = 0; i < 80; i++) expect(log).toContain(`a${i}`)
      expect(log.filter((t) => t.startsWith('r'))).toHaveLength(5)
    } finally {
      await client.close()
      await root.close()
    }
  })

  it('a root killed after confirming changes alone, restarted with --join on its storage, passes them up to the tree that replaced it', async () => {
    const storage = new MemoryStorage()
    const network = new InprocNetwork({ seed: 4 })
    const rootBind = { inbound: 'inproc://alone-in', outbound: 'inproc://alone-out' }
    const root = await Endpoint.start({ ...FAST, transport: new InprocTransport(network, { node: 'root' }), bind: rootBind, storage })
    const successor = await Endpoint.start({
      ...FAST,
      transport: new InprocTransport(network, { node: 'successor' }),
      bind: { inbound: 'inproc://succ-in', outbound: 'inproc://succ-out' },
      join: rootBind,
    })
    const rootDoc = await root.open<Shared>('doc', { initial: { log: [] } })
    const doc = await successor.open<Shared>('doc')
    doc.change((s) => void s.log.push('before'))
    await doc.synced()
    // Cut off, the root confirms its own changes alone (durably), then dies.
    network.partition(['root'], ['successor'])
    const alone = ['alone0', 'alone1', 'alone2', 'alone3', 'alone4']
    await Promise.all(alone.map((t) => rootDoc.change((s) => void s.log.push(t))!.confirmed))
    network.kill('root')
    network.heal()
    await root.close()
    await waitFor(() => successor.role === 'host', 'the successor takes over', 30_000)
    doc.change((s) => void s.log.push('after'))
    await doc.synced()
    // Restarted on its storage with the command line it would have as a member: --join.
    const restarted = await Endpoint.start({
      ...FAST,
      transport: new InprocTransport(network, { node: 'root2' }),
      bind: { inbound: 'inproc://r2-in', outbound: 'inproc://r2-out' },
      join: successor.addresses!,
      storage,
    })
    try {
      await waitFor(() => alone.every((t) => doc.state.log.includes(t)), 'what the dead root confirmed alone reaches the tree', 30_000)
      const log = doc.state.log
      for (const t of ['before', 'after', ...alone])
        expect(
          log.filter((x) => x === t),
          t,
        ).toHaveLength(1)
    } finally {
      await restarted.close()
      await successor.close()
    }
  })

  it('LMDB: a document survives the root process state being dropped, and reopens from its snapshot', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'zinc-durable-'))
    dirs.push(dir)
    const network = new InprocNetwork()
    let storage = await LmdbStorage.open(dir)
    let root = await Endpoint.start({ ...FAST, snapshotEvery: 100, transport: new InprocTransport(network), bind: { inbound: 'inproc://l-in', outbound: 'inproc://l-out' }, storage })
    const doc = await root.open<Shared>('doc', { initial: { log: [] } })
    for (let i = 0; i < 250; i++) doc.change((s) => void s.log.push(`x${i}`))
    await doc.synced()
    expect(doc.seq).toBe(250)
    await root.close()
    await storage.close()
    storage = await LmdbStorage.open(dir)
    root = await Endpoint.start({ ...FAST, transport: new InprocTransport(network), bind: { inbound: 'inproc://l-in', outbound: 'inproc://l-out' }, storage })
    try {
      const again = await root.open<Shared>('doc', { initial: { log: ['ignored'] } })
      expect(again.seq).toBe(250)
      expect(again.state.log).toHaveLength(250)
      expect(again.state.log[249]).toBe('x249')
      const stored = await storage.load('doc' as never)
      expect(stored!.snapshot!.seq).toBeGreaterThanOrEqual(200)
      expect(stored!.fragments.length).toBeLessThan(100)
    } finally {
      await root.close()
      await storage.close()
    }
  })
  it('LMDB: a root restarted under the same id (option `id`) numbers its changes on from what it stored: a new one is not taken for an old one', async () => {
    // Its counter started again at 1: its first change after the restart was answered as the
    // duplicate of its first one ever, "confirmed" with that seq, and lost.
    const dir = await mkdtemp(join(tmpdir(), 'zinc-durable-'))
    dirs.push(dir)
    const network = new InprocNetwork()
    const id = newEndpointId()
    const bind = { inbound: 'inproc://same-id-in', outbound: 'inproc://same-id-out' }
    let storage = await LmdbStorage.open(dir)
    let root = await Endpoint.start({ ...FAST, id, snapshotEvery: 4, transport: new InprocTransport(network), bind, storage })
    const doc = await root.open<Shared>('doc', { initial: { log: [] } })
    for (let i = 0; i < 6; i++) doc.change((s) => void s.log.push(`before ${i}`))
    await doc.synced()
    await root.close()
    await storage.close()
    storage = await LmdbStorage.open(dir)
    root = await Endpoint.start({ ...FAST, id, transport: new InprocTransport(network), bind, storage })
    try {
      const again = await root.open<Shared>('doc', { initial: { log: [] } })
      const after = again.change((s) => void s.log.push('after'))!
      await expect(after.confirmed).resolves.toBe(7)
      expect(again.state.log).toEqual([...Array.from({ length: 6 }, (_, i) => `before ${i}`), 'after'])
      expect((await storage.load('doc' as never))!.fragments.map((f) => f.seq)).toContain(7)
    } finally {
      await root.close()
      await storage.close()
    }
  })
})
