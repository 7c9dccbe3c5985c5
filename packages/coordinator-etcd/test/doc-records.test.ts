import { MemoryStorage, silentLogger, type DocId } from '@zinc/core'
import type { Etcd3 } from 'etcd3'
import { afterEach, describe, expect, it } from 'vitest'
import { ClaimingStorage } from '../src/claiming-storage.js'
import { DocumentRecords } from '../src/doc-records.js'
import { connectEtcd } from '../src/connect.js'
import { StoredElsewhereError } from '../src/errors.js'
import { etcdFixture, waitFor } from './etcd-server.js'

/**
 * The record of which host's store holds each document's latest copy, on a real etcd. The
 * terms are leader keys put by hand here (the election that puts them is tested in
 * election.test.ts and handover.test.ts; the whole path in shards.test.ts).
 */

const etcdServer = etcdFixture()
const cleanups: Array<() => Promise<unknown> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

let prefixes = 0

/** A leader key of its own lease, as an election puts it: the term's key and epoch (its create revision). */
async function term(client: Etcd3, prefix: string, name: string): Promise<{ key: string; epoch: number; end: () => Promise<void> }> {
  const lease = client.lease(10, { autoKeepAlive: false })
  await lease.grant()
  const key = `${prefix}leader/${name}`
  await lease.put(key).value(name).exec()
  const res = await client.getAll().prefix(key).exec()
  cleanups.push(() => lease.revoke().catch(() => {}))
  return { key, epoch: Number(res.kvs[0]!.create_revision), end: () => lease.revoke() }
}

async function setup() {
  const client = await connectEtcd([etcdServer.server.endpoint], 3000)
  cleanups.push(() => client.close())
  const prefix = `zinc-records-${process.pid}-${++prefixes}/shards/0/`
  const running = new Set<string>()
  const records = (host: string) => new DocumentRecords(client, prefix, 'shard 0', host, (h) => running.has(h), silentLogger, 3000)
  return { client, prefix, running, records }
}

describe('the record of which host stores a document (per-host stores)', () => {
  it('a new document may be created anywhere; once a host stored it, another host refuses to create it anew, saying which host holds it', async (ctx) => {
    if (etcdServer.skip(ctx)) return
    const { client, prefix, running, records } = await setup()
    const a = records('host-a')
    const t1 = await term(client, prefix, 'a')
    a.newTerm(t1.key, t1.epoch)
    await a.check('doc-1')
    const store = new ClaimingStorage(new MemoryStorage(), a)
    await store.writeSnapshot('doc-1' as DocId, { seq: 0, state: new TextEncoder().encode('{}'), clientSeqs: [] })
    expect(await client.get(`${prefix}docs/doc-1`).string()).toBe('host-a')
    await a.check('doc-1')
    // host-a is gone; host-b leads the shard next.
    a.endTerm()
    await t1.end()
    const b = records('host-b')
    const t2 = await term(client, prefix, 'b')
    b.newTerm(t2.key, t2.epoch)
    const gone = await b.check('doc-1').catch((e: unknown) => e)
    expect(gone).toBeInstanceOf(StoredElsewhereError)
    expect((gone as Error).message).toContain('in the store of host host-a, which is not running')
    expect((gone as Error).message).toContain('Restart host host-a with its store')
    running.add('host-a')
    const back = await b.check('doc-1').catch((e: unknown) => e)
    expect((back as Error).message).toContain('which is running but does not lead shard 0 now')
    // A document nobody stored is still new.
    await b.check('doc-2')
  })

  it('a root that no longer leads writes no record; its write waits for its next term, and the writes of one document keep their order', async (ctx) => {
    if (etcdServer.skip(ctx)) return
    const { client, prefix, records } = await setup()
    const a = records('host-a')
    const t1 = await term(client, prefix, 'a')
    // The term's key is gone (another leader), but this member has not heard yet.
    a.newTerm(t1.key, t1.epoch)
    await t1.end()
    const inner = new MemoryStorage()
    const store = new ClaimingStorage(inner, a)
    const doc = 'doc-1' as DocId
    const encoder = new TextEncoder()
    let done = false
    const state = encoder.encode('{"n":0}')
    const writes = store.writeSnapshot(doc, { seq: 0, state, clientSeqs: [] }).then(() => (done = true))
    // The caller's buffer may be reused once the call returned: the waiting write kept a copy.
    state.fill(0)
    const append = store.append(doc, [{ seq: 1, origin: 'e1' as never, clientSeq: 1, envelope: encoder.encode('x') }])
    await new Promise((r) => setTimeout(r, 500))
    expect(done).toBe(false)
    expect(await client.get(`${prefix}docs/doc-1`).string()).toBeNull()
    expect(await inner.load(doc)).toBeUndefined()
    // Leading again, under a new key: the record is written, then the snapshot, then the append.
    a.endTerm()
    const t2 = await term(client, prefix, 'a2')
    a.newTerm(t2.key, t2.epoch)
    await Promise.all([writes, append])
    expect(await client.get(`${prefix}docs/doc-1`).string()).toBe('host-a')
    const stored = await inner.load(doc)
    expect(new TextDecoder().decode(stored!.snapshot!.state)).toBe('{"n":0}')
    expect(stored!.fragments.map((f) => f.seq)).toEqual([1])
    await waitFor(() => a.holds('doc-1'), 'the claim cached')
  })
})
