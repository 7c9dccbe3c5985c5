/**
 * Offline-first leaves (LeafStorage): a leaf restarted while its parent is unreachable shows
 * its work at once, and on reconnecting sends it exactly once — also when the root had
 * sequenced a change whose echo never reached the leaf before it went. Bad stores never stop
 * a document from opening.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Endpoint, LeafStorageError, MemoryLeafStorage, type DocId, type LeafDocument, type LeafSnapshot, type LeafState } from '@zinc/core'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { FAST, waitFor } from './helpers.js'

type List = { items: string[] }

const open: Endpoint[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()))
})

async function world() {
  const network = new InprocNetwork({ seed: 3 })
  const host = await Endpoint.start({ ...FAST, transport: new InprocTransport(network, { node: 'host' }), bind: { inbound: network.uniqueAddress('h-in'), outbound: network.uniqueAddress('h-out') } })
  open.push(host)
  const hostDoc = await host.open<List>('list', { initial: { items: [] } })
  const leaf = async (storage: MemoryLeafStorage, node = 'leaf') => {
    const e = await Endpoint.start({ ...FAST, transport: new InprocTransport(network, { node }), join: host.addresses, leafStorage: storage, waitForParent: false })
    open.push(e)
    return e
  }
  return { network, host, hostDoc, leaf }
}

/** Records every save, so a test can put back what was kept at an earlier moment. */
class RecordingStorage extends MemoryLeafStorage {
  readonly saves: LeafSnapshot[] = []
  override async save(doc: DocId, record: LeafDocument, state?: LeafState): Promise<void> {
    await super.save(doc, record, state)
    this.saves.push((await this.load(doc))!)
  }
}

/** A store that stops completing writes when told (its process is about to die): they hang. */
class FreezingStorage extends MemoryLeafStorage {
  frozen = false
  override save(doc: DocId, record: LeafDocument, state?: LeafState): Promise<void> {
    return this.frozen ? new Promise(() => {}) : super.save(doc, record, state)
  }
  override remove(doc: DocId): Promise<void> {
    return this.frozen ? new Promise(() => {}) : super.remove(doc)
  }
}

describe('offline-first leaves', () => {
  it('a leaf restarted offline shows its pending changes at once and sends them exactly once on reconnect', async () => {
    const { network, host, hostDoc, leaf } = await world()
    const storage = new MemoryLeafStorage()
    const first = await leaf(storage)
    expect(first.id).toBe(storage.id)
    const doc = await first.open<List>('list', { initial: { items: [] } })
    doc.change((d) => void d.items.push('online'))
    await doc.synced()

    network.partition(['leaf'], ['host'])
    doc.change((d) => void d.items.push('offline-1'))
    doc.change((d) => void d.items.splice(0, 0, 'offline-2'))
    await waitFor(async () => (await storage.load('list' as DocId))?.record.pending.length === 2, 'the offline changes to be kept')
    await first.close()

    // The "reload": a new endpoint on the same store, still offline.
    const second = await leaf(storage.reopen())
    expect(second.id).toBe(first.id)
    expect(second.connected).toBe(false)
    const again = await second.open<List>('list', { timeoutMs: 1000 })
    expect(again.state.items).toEqual(['offline-2', 'online', 'offline-1'])
    expect(again.pendingCount).toBe(2)
    expect(again.status).toBe('syncing') // what was kept is not current until the parent answers

    network.heal()
    await waitFor(() => second.connected && again.pendingCount === 0 && hostDoc.seq === again.seq, 'the leaf to reconnect and send its changes')
    expect(hostDoc.state.items).toEqual(['offline-2', 'online', 'offline-1'])
    expect(again.state).toEqual(hostDoc.state)
    expect(host.stats().docs['list']).toBe(3)
    await waitFor(() => again.status === 'caught-up', 'caught up')
  })

  it('a document kept with nothing pending is "syncing" until the parent has answered for it', async () => {
    const { network, hostDoc, leaf } = await world()
    const storage = new MemoryLeafStorage()
    const first = await leaf(storage)
    const doc = await first.open<List>('list', { initial: { items: [] } })
    doc.change((d) => void d.items.push('kept'))
    await doc.synced()
    await waitFor(async () => (await storage.load('list' as DocId))?.record.seq === 1, 'the confirmed state to be kept')
    await first.close()
    network.partition(['leaf'], ['host'])
    hostDoc.change((d) => void d.items.push('newer'))
    const second = await leaf(storage.reopen())
    const again = await second.open<List>('list', { timeoutMs: 1000 })
    expect(again.state.items).toEqual(['kept'])
    expect(again.status).toBe('syncing')
    network.heal()
    await again.ready
    expect(again.state.items).toEqual(['kept', 'newer'])
  })

  it('the whole state is written only now and then; a restart rebuilds it from that state and the fragments after it', async () => {
    const { network, hostDoc, leaf } = await world()
    class Counting extends MemoryLeafStorage {
      states = 0
      records = 0
      override async save(doc: DocId, record: LeafDocument, state?: LeafState): Promise<void> {
        this.records++
        if (state) this.states++
        return super.save(doc, record, state)
      }
    }
    const storage = new Counting()
    const first = await leaf(storage)
    const doc = await first.open<List>('list', { initial: { items: [] } })
    for (let i = 0; i < 300; i++) {
      if (i % 2) doc.change((d) => void d.items.push(`leaf ${i}`))
      else hostDoc.change((d) => void d.items.push(`host ${i}`))
      if (i % 20 === 0) await doc.synced()
    }
    await doc.synced()
    await waitFor(async () => (await storage.load('list' as DocId))?.record.seq === hostDoc.seq && doc.seq === hostDoc.seq, 'everything kept')
    const kept = (await storage.load('list' as DocId))!
    expect(kept.record.sequenced.length).toBe(kept.record.seq - kept.state.seq)
    // A state every 256 fragments at most (and at the first open), a small record for the rest.
    expect(storage.states).toBeLessThanOrEqual(4)
    expect(storage.records).toBeGreaterThan(storage.states)
    await first.close()
    network.partition(['leaf'], ['host'])
    const second = await leaf(storage.reopen())
    const again = await second.open<List>('list', { timeoutMs: 1000 })
    expect(again.seq).toBe(hostDoc.seq)
    expect(again.state).toEqual(hostDoc.state)
    expect(again.state.items).toHaveLength(300)
  })

  it('a change made just before the endpoint closes is kept too', async () => {
    const { network, hostDoc, leaf } = await world()
    const storage = new MemoryLeafStorage()
    const first = await leaf(storage)
    const doc = await first.open<List>('list', { initial: { items: [] } })
    network.partition(['leaf'], ['host'])
    doc.change((d) => void d.items.push('last second'))
    await first.close() // in the same tick: the closing endpoint writes what it has
    const second = await leaf(storage.reopen())
    const again = await second.open<List>('list', { timeoutMs: 1000 })
    expect(again.state.items).toEqual(['last second'])
    network.heal()
    await waitFor(() => again.pendingCount === 0 && hostDoc.state.items.length === 1, 'the change at the root')
    expect(hostDoc.state.items).toEqual(['last second'])
  })

  it('a change the root sequenced but whose echo the leaf never got is not applied twice after a restart', async () => {
    const { hostDoc, leaf } = await world()
    const storage = new RecordingStorage()
    const first = await leaf(storage)
    const doc = await first.open<List>('list', { initial: { items: [] } })
    doc.change((d) => void d.items.push('once'))
    await doc.synced()
    // What was kept when the change was saved and sent, before its echo came back.
    const beforeEcho = storage.saves.find((r) => r.record.pending.length === 1)!
    expect(beforeEcho.record.seq).toBe(0)
    await first.close()
    await storage.reopen().save('list' as DocId, beforeEcho.record, beforeEcho.state)

    const second = await leaf(storage)
    const again = await second.open<List>('list', { timeoutMs: 1000 })
    expect(again.state.items).toEqual(['once'])
    await waitFor(() => again.pendingCount === 0 && again.seq === hostDoc.seq, 'the resent change to be acknowledged')
    expect(hostDoc.state.items).toEqual(['once'])
    expect(again.state.items).toEqual(['once'])
    expect(hostDoc.seq).toBe(1)
    // And the counter goes on past it: the next change is a new one, not a duplicate.
    again.change((d) => void d.items.push('twice'))
    await again.synced()
    await waitFor(() => hostDoc.state.items.length === 2, 'the next change at the root')
    expect(hostDoc.state.items).toEqual(['once', 'twice'])
  })

  it('a leaf that dies without a goodbye after its change went up resends that very copy; what it types after the restart lands where it typed it', async () => {
    // The root sequences the old process's copy of the leaf's change after others' changes the
    // leaf had already rebased it over; the restarted leaf types right after that change.
    // When the leaf kept only its local form, it resent that on the kept seq, and the root read
    // the next change as made on the old copy: l2, typed right before l1, landed before h0.
    const { network, host, hostDoc, leaf } = await world()
    const storage = new FreezingStorage()
    const first = await leaf(storage)
    const doc = await first.open<List>('list', { initial: { items: [] } })
    hostDoc.change((d) => void d.items.push('h0'))
    await waitFor(() => doc.state.items.length === 1, 'the first item at the leaf')
    // What the leaf sends vanishes for now; what the root sends reaches it.
    network.partition(['leaf'], ['host'], { oneWay: true })
    doc.change((d) => void d.items.push('l1'))
    hostDoc.change((d) => void d.items.splice(0, 0, 'h1'))
    hostDoc.change((d) => void d.items.splice(2, 0, 'h2'))
    await waitFor(() => doc.state.items.length === 4, 'the root’s changes at the leaf, its own among them')
    const seen = doc.state.items
    await waitFor(async () => {
      const kept = await storage.load('list' as DocId)
      return kept?.record.seq === hostDoc.seq && kept.record.pending[0]?.sent?.dirty === true
    }, 'the leaf to keep its change as sent, and rewritten since')
    const kept = (await storage.load('list' as DocId))!
    expect(kept.record.pending[0]!.sent!.base).toBe(1)
    // Its last moments: nothing more is kept; others change the list; its copy reaches the root.
    storage.frozen = true
    hostDoc.change((d) => void d.items.splice(1, 0, 'h3'))
    network.heal()
    await waitFor(() => hostDoc.state.items.includes('l1'), 'the old copy sequenced at the root')
    network.kill('leaf')
    await first.close() // (the store is frozen: nothing of the goodbye is kept)

    storage.frozen = false
    const second = await leaf(storage.reopen(), 'leaf-again')
    const again = await second.open<List>('list', { timeoutMs: 1000 })
    expect(again.state.items).toEqual(seen)
    // Right before and after its own item, as it sees the list now (perhaps before it heard of h3).
    again.change((d) => void d.items.splice(d.items.indexOf('l1'), 0, 'l2'))
    again.change((d) => void d.items.splice(d.items.indexOf('l1') + 1, 0, 'l3'))
    await waitFor(() => again.pendingCount === 0 && again.seq === hostDoc.seq && hostDoc.state.items.includes('l3'), 'the leaf’s changes at the root')
    const items = hostDoc.state.items
    expect([...items].sort()).toEqual(['h0', 'h1', 'h2', 'h3', 'l1', 'l2', 'l3'])
    // l2 right before l1 (main put it before h0, past the item the leaf saw there), l3 right after.
    expect(items.slice(items.indexOf('l2'), items.indexOf('l2') + 3)).toEqual(['l2', 'l1', 'l3'])
    expect(again.state).toEqual(hostDoc.state)
    expect(host.stats().docs['list']).toBe(hostDoc.seq)
  })

  it('a damaged record is dropped with a LeafStorageError event; the document comes from the parent', async () => {
    const { hostDoc, leaf } = await world()
    hostDoc.change((d) => void d.items.push('from the root'))
    const storage = new MemoryLeafStorage()
    await storage.save('list' as DocId, { seq: 'x', nextClientSeq: 0, pending: 7 } as unknown as LeafDocument, { seq: 0, state: null } as unknown as LeafState)
    const e = await leaf(storage)
    const errors: Error[] = []
    e.on('error', (error) => errors.push(error))
    const doc = await e.open<List>('list', { timeoutMs: 20_000 })
    expect(doc.state.items).toEqual(['from the root'])
    await waitFor(() => errors.length > 0, 'the warning')
    expect(errors[0]).toBeInstanceOf(LeafStorageError)
    expect(errors[0]!.message).toMatch(/unreadable .* discarded/)
    // It is kept from now on, in good shape.
    await waitFor(async () => (await storage.load('list' as DocId))?.record.seq === doc.seq, 'a good record')
  })

  it('a store that cannot save: the error is told once and changes still reach the root', async () => {
    const { hostDoc, leaf } = await world()
    class Full extends MemoryLeafStorage {
      override async save(): Promise<void> {
        throw new Error('QuotaExceededError')
      }
    }
    const e = await leaf(new Full())
    const errors: Error[] = []
    e.on('error', (error) => errors.push(error))
    const doc = await e.open<List>('list', { initial: { items: [] } })
    doc.change((d) => void d.items.push('still sent'))
    await doc.synced()
    await waitFor(() => hostDoc.state.items.length === 1, 'the change at the root')
    expect(errors.filter((x) => x instanceof LeafStorageError)).toHaveLength(1)
    expect(errors[0]!.message).toMatch(/could not be saved \(QuotaExceededError\)/)
  })

  it('the identity is the store’s; a different id, or a store on an endpoint that binds, is refused', async () => {
    const network = new InprocNetwork()
    const transport = new InprocTransport(network)
    const storage = new MemoryLeafStorage()
    await expect(Endpoint.start({ transport, join: { inbound: 'inproc://x', outbound: 'inproc://y' }, leafStorage: storage, id: '00000000-0000-4000-8000-000000000000' as never })).rejects.toThrow(
      /differs from the leafStorage's identity/,
    )
    await expect(Endpoint.start({ transport, bind: { inbound: 'inproc://a', outbound: 'inproc://b' }, leafStorage: storage })).rejects.toThrow(/leafStorage is for leaves/)
  })
})
