/**
 * IdbLeafStorage on fake-indexeddb (the IndexedDB API in memory, for Node). The claim of an
 * identity through Web Locks and the reload of a real tab are tested in Chromium
 * (examples/canvas/test/canvas.e2e.test.ts); here: what is kept, identity through
 * sessionStorage, and stores that are not ours.
 */
import 'fake-indexeddb/auto'
import { openDB, deleteDB } from 'idb'
import { afterEach, describe, expect, it } from 'vitest'
import { Endpoint, isLeafSnapshot, type DocId, type LeafDocument, type LeafState } from '@zinc/core'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { IdbLeafStorage } from '../src/index.js'

/** A tab's sessionStorage: kept across a reload of that tab. */
class Session {
  readonly #map = new Map<string, string>()
  getItem(k: string): string | null {
    return this.#map.get(k) ?? null
  }
  setItem(k: string, v: string): void {
    this.#map.set(k, v)
  }
}

let n = 0
const names: string[] = []
function dbName(): string {
  const name = `zinc-test-${n++}`
  names.push(name)
  return name
}
afterEach(async () => {
  await Promise.all(names.splice(0).map((name) => deleteDB(name)))
})

const state: LeafState = { seq: 4, state: { items: ['a', { b: 1 }] }, history: 123456789 }
const record: LeafDocument = { stateSeq: 4, sequenced: [], seq: 4, nextClientSeq: 3, pending: [{ clientSeq: 2, op: ['items', 0, { i: 'x' }] }] }
// The first pending change went up: the copy sent (its payload bytes, on seq 3) is kept with it.
const later: LeafDocument = {
  ...record,
  nextClientSeq: 4,
  pending: [
    { ...record.pending[0]!, sent: { base: 3, payload: new Uint8Array([123, 34, 111, 34, 58, 49, 125]), dirty: true, inDoubt: false } },
    { clientSeq: 3, op: ['items', 1, { r: true }] },
  ],
}

describe('IdbLeafStorage', () => {
  it('keeps records per identity; a reloaded tab (same sessionStorage) gets its identity and records back', async () => {
    const name = dbName()
    const session = new Session()
    const first = await IdbLeafStorage.open({ name, locks: null, session })
    expect(first.warnings).toEqual([])
    expect(first.persistent).toBe(true)
    await first.save('doc' as DocId, record, state)
    await first.save('doc' as DocId, later) // the small record alone: the state stays
    await first.close()
    await expect(first.load('doc' as DocId)).rejects.toThrow(/closed/)

    const reloaded = await IdbLeafStorage.open({ name, locks: null, session })
    expect(reloaded.id).toBe(first.id)
    const loaded = await reloaded.load('doc' as DocId)
    expect(loaded).toEqual({ state, record: later })
    expect(isLeafSnapshot(loaded)).toBe(true)
    expect(loaded!.record.pending[0]!.sent!.payload).toBeInstanceOf(Uint8Array)
    await reloaded.remove('doc' as DocId)
    expect(await reloaded.load('doc' as DocId)).toBeUndefined()
    await reloaded.close()

    // Another tab (its own sessionStorage) does not take that identity without a lock to prove it free.
    const other = await IdbLeafStorage.open({ name, locks: null, session: new Session() })
    expect(other.id).not.toBe(first.id)
    await other.close()
  })

  it('a database that is not ours is cleared, with a warning, and works', async () => {
    const name = dbName()
    const foreign = await openDB(name, 3, { upgrade: (db) => void db.createObjectStore('stuff') })
    await foreign.put('stuff', 'hello', 'k')
    foreign.close()
    const s = await IdbLeafStorage.open({ name, locks: null, session: null })
    expect(s.warnings.join(' ')).toMatch(/could not be opened|held something else/)
    expect(s.persistent).toBe(true)
    await s.save('doc' as DocId, record, state)
    expect(await s.load('doc' as DocId)).toEqual({ state, record })
    await s.close()
  })

  it('a database of ours with records but no format marker is cleared too', async () => {
    const name = dbName()
    const db = await openDB(name, 1, {
      upgrade(d) {
        d.createObjectStore('meta', { keyPath: 'key' })
        d.createObjectStore('slots', { keyPath: 'id' })
        d.createObjectStore('docs')
      },
    })
    await db.put('docs', { garbage: true }, ['x', 'y'])
    db.close()
    const s = await IdbLeafStorage.open({ name, locks: null, session: null })
    expect(s.warnings).toHaveLength(1)
    expect(s.warnings[0]).toMatch(/held something else .* starts fresh/)
    await s.close()
  })

  it('a leaf on it restarts offline with its work and sends it once when back', async () => {
    const name = dbName()
    const session = new Session()
    const network = new InprocNetwork({ seed: 5 })
    const fast = { heartbeatMs: 30, peerTimeoutMs: 400, resendMs: 150 }
    const host = await Endpoint.start({ ...fast, transport: new InprocTransport(network, { node: 'host' }), bind: { inbound: 'inproc://h-in', outbound: 'inproc://h-out' } })
    const hostDoc = await host.open<{ items: string[] }>('list', { initial: { items: [] } })
    const tab = async () => {
      const leafStorage = await IdbLeafStorage.open({ name, locks: null, session })
      const endpoint = await Endpoint.start({ ...fast, transport: new InprocTransport(network, { node: 'tab' }), join: host.addresses, leafStorage, waitForParent: false })
      return { leafStorage, endpoint }
    }
    try {
      const one = await tab()
      const doc = await one.endpoint.open<{ items: string[] }>('list', { initial: { items: [] } })
      network.partition(['tab'], ['host'])
      doc.change((d) => void d.items.push('made offline'))
      await until(async () => (await one.leafStorage.load('list' as DocId))?.record.pending.length === 1)
      await one.endpoint.close()
      await one.leafStorage.close()

      const two = await tab()
      expect(two.endpoint.id).toBe(one.endpoint.id)
      const again = await two.endpoint.open<{ items: string[] }>('list', { timeoutMs: 1000 })
      expect(again.state.items).toEqual(['made offline'])
      network.heal()
      await until(() => again.pendingCount === 0 && hostDoc.seq === again.seq)
      expect(hostDoc.state.items).toEqual(['made offline'])
      await two.endpoint.close()
      await two.leafStorage.close()
    } finally {
      await host.close()
    }
  })
})

async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 10))
  }
}
