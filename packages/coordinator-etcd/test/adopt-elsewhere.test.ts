import { MemoryStorage, type Document } from '@zinc/core'
import { InprocNetwork } from '@zinc/transport-inproc'
import { describe, expect, it } from 'vitest'
import { assignShards, shardOf } from '../src/index.js'
import { etcdFixture, waitFor } from './etcd-server.js'
import { newPrefix, SHARDS, settledOn, shardedHosts, type Log } from './sharded-hosts.js'

/**
 * A root that takes over a shard recovers with the survivors that re-join it, and may adopt a
 * document it never held from a survivor's snapshot. When etcd's record says another host's
 * store has the document's latest copy, that copy holds every confirmed change and the
 * survivor's may lag it. A holder that is not running may never come back: the survivor's copy
 * is adopted then, for availability (adopt.ts). When the holder does come back on its store, its
 * history is the older branch: it takes the later one and sequences again, after it, what only
 * its own held (later-branch.ts), so nothing confirmed is lost.
 */

const etcdServer = etcdFixture()
const { startHost, startForest } = shardedHosts(etcdServer)

/**
 * host-a stores 'two' and 'three' past the copy a partitioned forest holds, and dies; host-b
 * (no store) adopts that forest's older copy (the holder is not running) and confirms 'four' on
 * it; host-a comes back on its store and is elected for its shards again (still recovering).
 */
async function holderBackAfterAdoption(seed: number) {
  const network = new InprocNetwork({ seed })
  const prefix = newPrefix()
  const storesA = Array.from({ length: SHARDS }, () => new MemoryStorage())
  const a = await startHost(network, prefix, 'host-a', storesA)
  // host-b keeps no store: the document's only stored copy is host-a's.
  const b = await startHost(network, prefix, 'host-b')
  await waitFor(() => settledOn([a, b]), 'two hosts settled on their shards', 60_000)
  const id = Array.from({ length: 300 }, (_, i) => `doc-${i}`).find((doc) => assignShards(SHARDS, ['host-a', 'host-b'])[shardOf(doc, SHARDS)] === 'host-a')!
  const writer = await startForest(network, prefix, 'writer')
  const lagging = await startForest(network, prefix, 'lagging')
  const w = await writer.open<Log>(id, { initial: { log: [] } })
  const l = await lagging.open<Log>(id)
  w.change((s) => void s.log.push('one'))
  await w.synced({ timeoutMs: 30_000 })
  await waitFor(() => l.state.log.length === 1, 'the lagging forest has the first change')
  // The lagging forest hears nothing more; two more changes are confirmed, so stored by host-a.
  network.partition(['lagging'], ['host-a', 'host-b'])
  w.change((s) => void s.log.push('two'))
  w.change((s) => void s.log.push('three'))
  await w.synced({ timeoutMs: 30_000 })
  await w.close()
  // host-a dies as the partition heals: host-b takes its shards over, and the lagging forest,
  // whose parent is gone, re-joins host-b with the document at its first change.
  network.heal()
  network.kill('host-a')
  a.link.cut()
  await waitFor(() => b.host.led().length === SHARDS, 'host-b leads every shard', 60_000)
  await a.host.close()
  // host-a is not running: host-b adopted the lagging forest's copy (seq 1), and confirms a
  // change made meanwhile on it.
  l.change((s) => void s.log.push('four'))
  const back = await startHost(network, prefix, 'host-a', storesA, undefined, 'host-a-2')
  await waitFor(() => settledOn([back, b]), 'host-a back on its store leads its shards again', 60_000)
  return { network, prefix, b, back, l, id }
}

/**
 * Every change exactly once at the lagging forest and at a fresh reader: 'one' first, 'two'
 * before 'three'. 'four' was made after 'one' on the copy its author saw, concurrently with
 * 'two' and 'three' at the same place: either side of them is where its author meant it.
 */
async function expectEveryChangeOnce(network: InprocNetwork, prefix: string, l: Document<Log>, id: string): Promise<void> {
  await waitFor(() => l.state.log.length >= 4, 'the lagging forest has every change', 60_000)
  expect([...l.state.log].sort()).toEqual(['four', 'one', 'three', 'two'])
  expect(l.state.log.filter((x) => x !== 'four')).toEqual(['one', 'two', 'three'])
  const reader = await startForest(network, prefix, 'reader')
  const r = await reader.open<Log>(id)
  await waitFor(() => r.state.log.length === 4, 'a fresh reader has all four changes', 60_000)
  expect(r.state.log).toEqual(l.state.log)
}

describe("a recovering root and a survivor's copy of a document stored on another host", () => {
  it("adopts a lagging survivor's older copy while the holder is dead; once back, the holder keeps what only its store held: every change stays, once", { timeout: 240_000 }, async (ctx) => {
    if (etcdServer.skip(ctx)) return
    const { network, prefix, l, id } = await holderBackAfterAdoption(44)
    await l.synced({ timeoutMs: 60_000 })
    // host-a leads its shard as soon as it is elected, still recovering: it takes host-b's later
    // branch and sequences 'two' and 'three' again after it once recovery ends. Wait for them
    // (asserted at once, the log was still ['one', 'four']).
    await expectEveryChangeOnce(network, prefix, l, id)
  })

  // Not fixed: skipped (docs/chaos.md, "When a confirmed change can still be lost", a returning
  // holder that leaves its shard before it has sequenced its older branch again). host-a closes
  // at once, still recovering: host-b, recovering from it, finds its fragments on an older branch
  // and does not take them (endpoint/survivor-fetch.ts, "another branch than ours"), and host-a
  // closes without passing them up (they are the writer's, not its own): 'two' and 'three' are
  // in no running replica, only in host-a's store. Failed 2 runs of 3 (in the third, host-a's
  // recovery, and so their sequencing again, had ended before it handed over).
  it.skip('a holder back on its store that hands its shard over again at once keeps what only its store held', { timeout: 240_000 }, async (ctx) => {
    if (etcdServer.skip(ctx)) return
    const { network, prefix, b, back, l, id } = await holderBackAfterAdoption(46)
    await back.host.close()
    await waitFor(() => b.host.led().length === SHARDS, 'host-b leads every shard again', 60_000)
    await l.synced({ timeoutMs: 60_000 })
    await expectEveryChangeOnce(network, prefix, l, id)
  })

  it("does not adopt a lagging survivor's older copy while the holder is running but does not lead the shard: the holder serves it, every change stays, once", { timeout: 240_000 }, async (ctx) => {
    if (etcdServer.skip(ctx)) return
    const network = new InprocNetwork({ seed: 45 })
    const prefix = newPrefix()
    // host-a keeps the only store. The document is host-a's with host-b, host-d's with all four,
    // and host-c's once host-d is gone: host-a running, and another host recovering the shard.
    const storesA = Array.from({ length: SHARDS }, () => new MemoryStorage())
    const a = await startHost(network, prefix, 'host-a', storesA)
    const b = await startHost(network, prefix, 'host-b')
    await waitFor(() => settledOn([a, b]), 'two hosts settled on their shards', 60_000)
    const owner = (hosts: string[], doc: string) => assignShards(SHARDS, hosts)[shardOf(doc, SHARDS)]
    const id = Array.from({ length: 300 }, (_, i) => `doc-${i}`).find(
      (doc) => owner(['host-a', 'host-b'], doc) === 'host-a' && owner(['host-a', 'host-b', 'host-c', 'host-d'], doc) === 'host-d' && owner(['host-a', 'host-b', 'host-c'], doc) === 'host-c',
    )!
    const shard = shardOf(id, SHARDS)
    const writer = await startForest(network, prefix, 'writer')
    const lagging = await startForest(network, prefix, 'lagging')
    const w = await writer.open<Log>(id, { initial: { log: [] } })
    const l = await lagging.open<Log>(id)
    w.change((s) => void s.log.push('one'))
    await w.synced({ timeoutMs: 30_000 })
    await waitFor(() => l.state.log.length === 1, 'the lagging forest has the first change')
    // The lagging forest hears nothing more until the end; two more changes are stored by host-a.
    const others = ['host-a', 'host-a-2', 'host-b', 'host-c', 'host-d', 'writer']
    network.partition(['lagging'], others)
    w.change((s) => void s.log.push('two'))
    w.change((s) => void s.log.push('three'))
    await w.synced({ timeoutMs: 30_000 })
    // Nobody else keeps the document in memory: the writer goes, and host-a dies (it comes back
    // on its store, as a new process).
    await writer.close()
    network.kill('host-a')
    a.link.cut()
    await waitFor(() => b.host.led().length === SHARDS, 'host-b leads every shard', 60_000)
    await a.host.close()
    const c = await startHost(network, prefix, 'host-c')
    const d = await startHost(network, prefix, 'host-d')
    await waitFor(() => settledOn([b, c, d]), 'host-b, host-c and host-d settled', 60_000)
    // host-a is back on its store, running, and leads other shards: the document's stays host-d's.
    const back = await startHost(network, prefix, 'host-a', storesA, undefined, 'host-a-2')
    await waitFor(() => settledOn([back, b, c, d]), 'four hosts settled', 60_000)
    expect(d.host.led()).toContain(shard)
    // host-d dies: host-c takes the shard over and recovers, and the lagging forest, heard again,
    // re-joins it with its older copy and a change made on it.
    l.change((s) => void s.log.push('four'))
    network.kill('host-d')
    d.link.cut()
    network.heal()
    await waitFor(() => settledOn([back, b, c]), 'host-c leads the shard', 60_000)
    await l.synced({ timeoutMs: 60_000 })
    await expectEveryChangeOnce(network, prefix, l, id)
  })
})
