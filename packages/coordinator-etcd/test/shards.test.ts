import { Endpoint, MemoryStorage, type Document, type Logger } from '@zinc/core'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { describe, expect, it } from 'vitest'
import { assignShards, Forest, ShardedHost, shardOf } from '../src/index.js'
import { etcdFixture, waitFor } from './etcd-server.js'
import { newPrefix, SHARDS, settledOn, shardedHosts, TIMING, TTL_MS, type Log } from './sharded-hosts.js'

/**
 * Documents sharded across hosts on a real etcd: three hosts (one coordinated endpoint per
 * shard each, in-process network, each host reaching etcd through its own cuttable link), a
 * forest opening 300 documents. Heavier variant: ZINC_SHARDS_LONG=1 (600 documents, then four cycles of a
 * host joining and another dying, writes throughout).
 */

const LONG = process.env.ZINC_SHARDS_LONG === '1'
const DOCS = LONG ? 600 : 300
const etcdServer = etcdFixture()
const { cleanups, startHost, startForest } = shardedHosts(etcdServer)

const ids = Array.from({ length: DOCS }, (_, i) => `doc-${i}`)

/** Two hosts settled on their shards, and a forest with the first `count` documents open, each with one change confirmed. */
async function twoHostsAndDocs(seed: number, count: number) {
  const network = new InprocNetwork({ seed })
  const prefix = newPrefix()
  const a = await startHost(network, prefix, 'host-a')
  const b = await startHost(network, prefix, 'host-b')
  await waitFor(() => settledOn([a, b]), 'two hosts settled on their shards', 60_000)
  const forest = await startForest(network, prefix, 'forest')
  const some = ids.slice(0, count)
  const docs = await Promise.all(some.map((id) => forest.open<Log>(id, { initial: { log: [] } })))
  docs.forEach((d, i) => d.change((s) => void s.log.push(`before-${i}`)))
  await Promise.all(docs.map((d) => d.synced({ timeoutMs: 30_000 })))
  return { network, a, b, forest, some, docs }
}

describe('documents sharded across hosts on etcd', () => {
  it('three hosts share the shards evenly; a joining host takes its share by handover; a dead host’s shards are served again, nothing confirmed lost', { timeout: 240_000 }, async (ctx) => {
    if (etcdServer.skip(ctx)) return
    const network = new InprocNetwork({ seed: 21 })
    const prefix = newPrefix()
    // What the survivors warn about (host-b keeps a store of its own, and will die).
    const warnings: string[] = []
    const warns: Logger = { debug: () => {}, info: () => {}, warn: (o, m) => void warnings.push(`${m} ${JSON.stringify(o)}`), error: () => {}, child: () => warns }
    const a = await startHost(network, prefix, 'host-a', undefined, warns)
    const b = await startHost(
      network,
      prefix,
      'host-b',
      Array.from({ length: SHARDS }, () => new MemoryStorage()),
    )
    await waitFor(() => settledOn([a, b]), 'two hosts settled on their shards', 60_000)

    const forest = await startForest(network, prefix, 'forest')
    const docs = new Map<string, Document<Log>>()
    const made = new Map<string, string[]>()
    const write = (round: string) => {
      for (const id of ids) {
        const token = `${id}:${round}`
        docs.get(id)!.change((s) => void s.log.push(token))
        made.get(id)!.push(token)
      }
    }
    for (const id of ids) {
      docs.set(id, await forest.open<Log>(id, { initial: { log: [] } }))
      made.set(id, [])
    }
    write('r1')
    await Promise.all([...docs.values()].map((d) => d.synced({ timeoutMs: 60_000 })))

    // A third host joins: the shards it is assigned are handed over while their roots are alive.
    const joinedAt = Date.now()
    const c = await startHost(network, prefix, 'host-c', undefined, warns)
    const hosts = [a, b, c]
    await waitFor(() => settledOn(hosts), 'three hosts settled on their shards', 60_000)
    const handoverMs = Date.now() - joinedAt
    write('r2')
    await Promise.all([...docs.values()].map((d) => d.synced({ timeoutMs: 60_000 })))

    // Spread: shards and documents per host within ±20 % of even. (On a loaded machine a root may
    // miss a renewal and be re-elected meanwhile: measured once every shard is led as assigned.)
    await waitFor(() => settledOn(hosts), 'three hosts settled on their shards', 60_000)
    const ledBy = hosts.map((h) => h.host.led())
    const docsBy = ledBy.map((led) => ids.filter((id) => led.includes(shardOf(id, SHARDS))).length)
    console.log(`[shards] ${SHARDS} shards over 3 hosts: ${ledBy.map((l) => l.length).join('/')}; ${DOCS} documents: ${docsBy.join('/')}; handover on join ${handoverMs} ms`)
    for (const led of ledBy) expect(Math.abs(led.length - SHARDS / 3)).toBeLessThanOrEqual((SHARDS / 3) * 0.2)
    for (const n of docsBy) expect(Math.abs(n - DOCS / 3)).toBeLessThanOrEqual((DOCS / 3) * 0.2)
    expect(ledBy.flat().sort((x, y) => x - y)).toEqual(Array.from({ length: SHARDS }, (_, i) => i))

    // Kill host b: no goodbye, no resignation; etcd expires its lease.
    const lost = b.host.led()
    network.kill(b.name)
    b.link.cut()
    const diedAt = Date.now()
    // Changes made while the dead host's shards have no root: pending, confirmed by the next one.
    write('during')
    const rest = [a, c]
    await waitFor(() => settledOn(rest), "the dead host's shards led again", 60_000)
    const ledAgainMs = Date.now() - diedAt
    // Its successors say that what only its store held is not served (see the README).
    expect(warnings.filter((w) => w.includes('kept its own store') && w.includes('"previous":"host-b"')).length).toBeGreaterThan(0)
    write('r3')
    await Promise.all([...docs.values()].map((d) => d.synced({ timeoutMs: 60_000 })))
    const servedMs = Date.now() - diedAt
    console.log(
      `[shards] host killed (led ${lost.length} shards): led again after ${ledAgainMs} ms, every document confirmed a new change after ${servedMs} ms (lease ${TTL_MS} ms, peer timeout ${TIMING.peerTimeoutMs} ms)`,
    )
    // Every change made is in its document exactly once, and the roots agree.
    for (const id of ids) {
      const log = docs.get(id)!.state.log
      for (const token of made.get(id)!)
        expect(
          log.filter((t) => t === token),
          `${token} exactly once`,
        ).toHaveLength(1)
    }
    for (const shard of lost) {
      const owner = rest.find((h) => h.host.led().includes(shard))!
      const root = owner.host.endpoint(shard)
      expect(Object.keys(root.stats().docs).length).toBe(ids.filter((id) => shardOf(id, SHARDS) === shard).length)
    }
    if (!LONG) return
    // The long run: hosts keep dying and new ones joining, writes going on throughout.
    const live = [...rest]
    for (let cycle = 0; cycle < 4; cycle++) {
      const fresh = await startHost(network, prefix, `host-n${cycle}`)
      live.push(fresh)
      write(`join-${cycle}`)
      await waitFor(() => settledOn(live), `cycle ${cycle}: settled after a join`, 60_000)
      const victim = live.splice(cycle % live.length, 1)[0]!
      network.kill(victim.name)
      victim.link.cut()
      write(`death-${cycle}`)
      console.log(`[shards] cycle ${cycle}: ${victim.name} killed (led ${victim.host.led().join(',')}); live ${live.map((h) => h.name).join(', ')}`)
      await waitFor(() => settledOn(live), `cycle ${cycle}: settled after a death`, 60_000)
      await Promise.all([...docs.values()].map((d) => d.synced({ timeoutMs: 60_000 })))
    }
    for (const id of ids)
      for (const token of made.get(id)!)
        expect(
          docs.get(id)!.state.log.filter((t) => t === token),
          `${token} exactly once`,
        ).toHaveLength(1)
  })

  it('a relay is a forest: a leaf joins its endpoint of the document’s shard, and keeps syncing when that shard moves to a new host', async (ctx) => {
    if (etcdServer.skip(ctx)) return
    const network = new InprocNetwork({ seed: 24 })
    const prefix = newPrefix()
    const a = await startHost(network, prefix, 'host-a')
    const relay = await startForest(network, prefix, 'relay')
    const direct = await startForest(network, prefix, 'direct')
    // A document whose shard moves when host-b joins (assignShards is what every host computes).
    const moved = (id: string) => {
      const k = shardOf(id, SHARDS)
      return assignShards(SHARDS, ['host-a', 'host-b'])[k] === 'host-b'
    }
    const id = ids.find(moved)!
    const shard = shardOf(id, SHARDS)
    const upstream = await relay.endpoint(shard)
    const leaf = await Endpoint.start({ ...TIMING, transport: new InprocTransport(network, { node: 'leaf' }), join: upstream.addresses })
    cleanups.push(() => leaf.close())
    const viaRelay = await leaf.open<Log>(id, { initial: { log: [] } })
    const other = await direct.open<Log>(id)
    viaRelay.change((s) => void s.log.push('leaf-1'))
    other.change((s) => void s.log.push('direct-1'))
    await Promise.all([viaRelay.synced(), other.synced()])
    const b = await startHost(network, prefix, 'host-b')
    await waitFor(() => settledOn([a, b]), 'two hosts settled on their shards', 60_000)
    expect(b.host.led()).toContain(shard)
    viaRelay.change((s) => void s.log.push('leaf-2'))
    other.change((s) => void s.log.push('direct-2'))
    await Promise.all([viaRelay.synced({ timeoutMs: 30_000 }), other.synced({ timeoutMs: 30_000 })])
    await waitFor(() => viaRelay.seq === other.seq && viaRelay.seq === b.host.endpoint(shard).stats().docs[id], 'leaf, forest and the new root at one seq')
    expect([...viaRelay.state.log].sort()).toEqual(['direct-1', 'direct-2', 'leaf-1', 'leaf-2'])
    expect(upstream.role).toBe('relay')
  })

  it('a host that closes hands its shards over while alive: the others lead them, every document intact, even those only it held', async (ctx) => {
    if (etcdServer.skip(ctx)) return
    const { a, b, forest, some, docs } = await twoHostsAndDocs(25, 60)
    // Half the documents are closed by the forest: only their root holds them now.
    const cold = some.filter((_, i) => i % 2 === 1)
    await Promise.all(docs.filter((_, i) => i % 2 === 1).map((d) => d.close()))
    await waitFor(() => cold.every((id) => !(id in [...forest.endpoints.values()].reduce((all, e) => ({ ...all, ...e.stats().docs }), {} as Record<string, number>))), 'the forest dropped them')
    const handed = a.host.led()
    const closing = Date.now()
    await a.host.close()
    const closeMs = Date.now() - closing
    expect(b.host.led()).toHaveLength(SHARDS)
    for (let i = 1; i < docs.length; i += 2) docs[i] = await forest.open<Log>(some[i]!)
    docs.forEach((d, i) => d.change((s) => void s.log.push(`after-${i}`)))
    await Promise.all(docs.map((d) => d.synced({ timeoutMs: 30_000 })))
    docs.forEach((d, i) => expect(d.state.log).toEqual([`before-${i}`, `after-${i}`]))
    for (const shard of handed) {
      const root = b.host.endpoint(shard)
      expect(Object.keys(root.stats().docs).sort()).toEqual(some.filter((id) => shardOf(id, SHARDS) === shard).sort())
    }
    console.log(`[shards] a closing host handed ${handed.length} shards over in ${closeMs} ms (peer timeout ${TIMING.peerTimeoutMs} ms)`)
  })

  it('a handover passes on stored documents nobody has open, and the new root answers none of their opens before the old root has handed them over, however late it re-joins (a host with storage, restarted, then joined by another it cannot reach for a while)', async (ctx) => {
    if (etcdServer.skip(ctx)) return
    const network = new InprocNetwork({ seed: 29 })
    const prefix = newPrefix()
    const stores = Array.from({ length: SHARDS }, () => new MemoryStorage())
    const first = await startHost(network, prefix, 'host-a', stores)
    const forest = await startForest(network, prefix, 'forest')
    const some = ids.slice(0, 36)
    const docs = await Promise.all(some.map((id) => forest.open<Log>(id, { initial: { log: [] } })))
    docs.forEach((d, i) => d.change((s) => void s.log.push(`stored-${i}`)))
    await Promise.all(docs.map((d) => d.synced({ timeoutMs: 30_000 })))
    await Promise.all(docs.map((d) => d.close()))
    // Restarted on the same stores: every document is on "disk" only.
    await first.host.close()
    const a = await startHost(network, prefix, 'host-a', stores)
    await waitFor(() => a.host.led().length === SHARDS, 'host-a leads every shard again', 60_000)
    // host-b joins; as its shards are handed over, host-a cannot reach it (it reaches etcd and the
    // forest) for longer than a recovery window (two peer timeouts): the old root re-joins late.
    const b = await startHost(network, prefix, 'host-b')
    network.partition(['host-a'], ['host-b'])
    const moved = some.filter((id) => assignShards(SHARDS, ['host-a', 'host-b'])[shardOf(id, SHARDS)] === 'host-b')
    expect(moved.length).toBeGreaterThan(0)
    await waitFor(() => settledOn([a, b]), 'the shards split between the two', 60_000)
    const answered = new Set<string>()
    const opening = some.map((id) => forest.open<Log>(id, { initial: { log: ['wrong: re-seeded'] }, timeoutMs: 60_000 }).then((d) => (answered.add(id), d)))
    await new Promise((r) => setTimeout(r, TIMING.peerTimeoutMs * 3))
    // Not one of the moved documents was answered meanwhile (it would have been a blank one).
    expect(moved.filter((id) => answered.has(id))).toEqual([])
    network.heal()
    const again = await Promise.all(opening)
    again.forEach((d, i) => expect(d.state.log, some[i]).toEqual([`stored-${i}`]))
  })

  it(
    'a document open nowhere and stored only by a host that died is not created anew by the next owner: its opens wait, and fail saying which host to restart; restarted on its store, that host serves it; nothing confirmed lost',
    { timeout: 240_000 },
    async (ctx) => {
      if (etcdServer.skip(ctx)) return
      const network = new InprocNetwork({ seed: 30 })
      const prefix = newPrefix()
      const storesOf = () => Array.from({ length: SHARDS }, () => new MemoryStorage())
      const a = await startHost(network, prefix, 'host-a', storesOf())
      const storesB = storesOf()
      const b = await startHost(network, prefix, 'host-b', storesB)
      await waitFor(() => settledOn([a, b]), 'two hosts settled on their shards', 60_000)
      const forest = await startForest(network, prefix, 'forest')
      // Documents of host-b's shards, written, then closed: only host-b's store holds them.
      const ofB = b.host.led()
      const onB = (id: string) => ofB.includes(shardOf(id, SHARDS))
      const stored = ids.filter(onB).slice(0, 12)
      const docs = await Promise.all(stored.map((id) => forest.open<Log>(id, { initial: { log: [] } })))
      docs.forEach((d, i) => d.change((s) => void s.log.push(`stored-${i}`)))
      await Promise.all(docs.map((d) => d.synced({ timeoutMs: 30_000 })))
      await Promise.all(docs.map((d) => d.close()))
      const forestDocs = () => [...forest.endpoints.values()].flatMap((e) => Object.keys(e.stats().docs))
      await waitFor(() => stored.every((id) => !forestDocs().includes(id)), 'the forest dropped them')

      // host-b dies: no goodbye; host-a leads every shard after the lease.
      network.kill('host-b')
      b.link.cut()
      await waitFor(() => a.host.led().length === SHARDS, 'host-a leads every shard', 60_000)
      // A document that exists nowhere, in one of those shards, is created at once, as always.
      const fresh = ids.filter((id) => onB(id) && !stored.includes(id))[0]!
      const created = await forest.open<Log>(fresh, { initial: { log: ['fresh'] }, timeoutMs: 20_000 })
      created.change((s) => void s.log.push('fresh-1'))
      await created.synced({ timeoutMs: 30_000 })
      // A stored one is never answered as a new document: an open that gives up says why, and what to do.
      const error = await forest.open<Log>(stored[0]!, { initial: { log: ['wrong: re-seeded'] }, timeoutMs: 3000 }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(Error)
      expect((error as Error).message).toContain('in the store of host host-b, which is not running')
      expect((error as Error).message).toContain('Restart host host-b with its store')
      // Opens that wait longer are answered once host-b is back, with what it stored.
      const answered = new Set<string>()
      const opening = stored.map((id) => forest.open<Log>(id, { initial: { log: ['wrong: re-seeded'] }, timeoutMs: 120_000 }).then((d) => (answered.add(id), d)))
      await new Promise((r) => setTimeout(r, TIMING.peerTimeoutMs * 3))
      expect([...answered]).toEqual([])
      // The dead run is tidied away (its timers stop), and host-b restarts on its stores as a new process.
      await b.host.close()
      const back = await startHost(network, prefix, 'host-b', storesB, undefined, 'host-b-2')
      await waitFor(() => settledOn([a, back]), 'host-b got its shards back', 60_000)
      const again = await Promise.all(opening)
      again.forEach((d, i) => expect(d.state.log, stored[i]).toEqual([`stored-${i}`]))
      again.forEach((d, i) => d.change((s) => void s.log.push(`after-${i}`)))
      await Promise.all(again.map((d) => d.synced({ timeoutMs: 30_000 })))
      again.forEach((d, i) => expect(d.state.log, stored[i]).toEqual([`stored-${i}`, `after-${i}`]))
      // The document created while host-b was away went over to it with its history.
      created.change((s) => void s.log.push('fresh-2'))
      await created.synced({ timeoutMs: 30_000 })
      expect(created.state.log).toEqual(['fresh', 'fresh-1', 'fresh-2'])
      expect(back.host.led()).toContain(shardOf(fresh, SHARDS))
    },
  )

  it('a host back on its store that gets its shard back keeps its stored copy of a document over a survivor’s older one', { timeout: 240_000 }, async (ctx) => {
    if (etcdServer.skip(ctx)) return
    const network = new InprocNetwork({ seed: 32 })
    const prefix = newPrefix()
    const storesA = Array.from({ length: SHARDS }, () => new MemoryStorage())
    const a = await startHost(network, prefix, 'host-a', storesA)
    const writer = await startForest(network, prefix, 'writer')
    const lagging = await startForest(network, prefix, 'lagging')
    // A document whose shard host-a leads again once host-b is back too.
    const id = ids.find((doc) => assignShards(SHARDS, ['host-a', 'host-b'])[shardOf(doc, SHARDS)] === 'host-a')!
    const w = await writer.open<Log>(id, { initial: { log: [] } })
    const l = await lagging.open<Log>(id)
    w.change((s) => void s.log.push('one'))
    await w.synced({ timeoutMs: 30_000 })
    await waitFor(() => l.state.log.length === 1, 'the lagging forest has the first change')
    // The lagging forest hears nothing more from the hosts; the writer's next changes are
    // confirmed and stored by host-a, then the writer closes the document.
    network.partition(['lagging'], ['host-a', 'host-b'])
    w.change((s) => void s.log.push('two'))
    w.change((s) => void s.log.push('three'))
    await w.synced({ timeoutMs: 30_000 })
    await w.close()
    // host-b joins, host-a dies: host-b leads every shard, without the document.
    const b = await startHost(network, prefix, 'host-b')
    await waitFor(() => settledOn([a, b]), 'two hosts settled', 60_000)
    network.kill('host-a')
    a.link.cut()
    await waitFor(() => b.host.led().length === SHARDS, 'host-b leads every shard', 60_000)
    await a.host.close()
    // host-a restarts on its store; host-b, handing its shards back, cannot reach it for a while,
    // so host-a recovers with the lagging forest (which can reach it) as a survivor meanwhile.
    const back = await startHost(network, prefix, 'host-a', storesA, undefined, 'host-a-2')
    network.partition(['host-b'], ['host-a-2'])
    await waitFor(() => back.host.led().includes(shardOf(id, SHARDS)), 'host-a leads the shard again', 60_000)
    await new Promise((r) => setTimeout(r, TIMING.peerTimeoutMs * 3))
    network.heal()
    await waitFor(() => l.state.log.length === 3, 'the lagging forest gets what host-a stored', 60_000)
    expect(l.state.log).toEqual(['one', 'two', 'three'])
    l.change((s) => void s.log.push('four'))
    await l.synced({ timeoutMs: 30_000 })
    expect(l.state.log).toEqual(['one', 'two', 'three', 'four'])
  })

  it('a document stored only by a running host that no longer leads its shard is served: the owner lends it the shard, and gets it back with the document', { timeout: 240_000 }, async (ctx) => {
    if (etcdServer.skip(ctx)) return
    const network = new InprocNetwork({ seed: 33 })
    const prefix = newPrefix()
    const stores = () => Array.from({ length: SHARDS }, () => new MemoryStorage())
    const a = await startHost(network, prefix, 'host-a', stores())
    const b = await startHost(network, prefix, 'host-b', stores())
    await waitFor(() => settledOn([a, b]), 'two hosts settled', 60_000)
    // A document host-a leads now, and host-c will lead once all three are live.
    const two = assignShards(SHARDS, ['host-a', 'host-b'])
    const three = assignShards(SHARDS, ['host-a', 'host-b', 'host-c'])
    const id = ids.find((doc) => two[shardOf(doc, SHARDS)] === 'host-a' && three[shardOf(doc, SHARDS)] === 'host-c')!
    const shard = shardOf(id, SHARDS)
    const forest = await startForest(network, prefix, 'forest')
    const d = await forest.open<Log>(id, { initial: { log: [] } })
    d.change((s) => void s.log.push('stored'))
    await d.synced({ timeoutMs: 30_000 })
    await d.close()
    // host-a is cut off (etcd and peers) and its shards fail over; host-c joins meanwhile.
    a.link.cut()
    network.partition(['host-a'], ['host-b', 'host-c', 'forest'])
    await waitFor(() => b.host.led().length === SHARDS, 'host-b leads every shard', 60_000)
    const c = await startHost(network, prefix, 'host-c', stores())
    await waitFor(() => settledOn([b, c]), 'host-b and host-c settled', 60_000)
    // host-a is back, running; the shard stays host-c's, and only host-a's store has the document.
    a.link.heal()
    network.heal()
    await waitFor(() => settledOn([a, b, c]), 'three hosts settled', 60_000)
    expect(c.host.led()).toContain(shard)
    const again = await forest.open<Log>(id, { initial: { log: ['wrong: re-seeded'] }, timeoutMs: 60_000 })
    expect(again.state.log).toEqual(['stored'])
    again.change((s) => void s.log.push('after'))
    await again.synced({ timeoutMs: 30_000 })
    // The shard went back to host-c, with the document.
    await waitFor(() => c.host.led().includes(shard) && c.host.endpoint(shard).stats().docs[id] !== undefined, 'host-c leads the shard again, holding the document', 60_000)
    again.change((s) => void s.log.push('back'))
    await again.synced({ timeoutMs: 30_000 })
    expect(again.state.log).toEqual(['stored', 'after', 'back'])
  })

  it('a host partitioned from etcd and the others loses its shards, and gets them back by handover when it heals; nothing confirmed lost', async (ctx) => {
    if (etcdServer.skip(ctx)) return
    const { network, a, b, docs } = await twoHostsAndDocs(26, 48)
    const made: string[][] = docs.map((_, i) => [`before-${i}`])
    const write = (round: string) =>
      docs.forEach((d, i) => {
        d.change((s) => void s.log.push(`${round}-${i}`))
        made[i]!.push(`${round}-${i}`)
      })
    // host-b is cut off from etcd and from every other node, alive.
    b.link.cut()
    network.partition(['host-b'], ['host-a', 'forest'])
    write('cut')
    await waitFor(() => a.host.led().length === SHARDS, 'host-a leads every shard', 60_000)
    await Promise.all(docs.map((d) => d.synced({ timeoutMs: 30_000 })))
    await waitFor(() => b.host.led().length === 0, 'host-b leads nothing', 30_000)
    b.link.heal()
    network.heal()
    await waitFor(() => settledOn([a, b]), 'the shards handed back to host-b', 60_000)
    write('healed')
    await Promise.all(docs.map((d) => d.synced({ timeoutMs: 30_000 })))
    docs.forEach((d, i) => expect(d.state.log).toEqual(made[i]))
  })

  it('etcd down: no shard confirms anything past its lease, nothing is lost, and every shard resumes when etcd returns', async (ctx) => {
    if (etcdServer.skip(ctx)) return
    const { a, b, docs } = await twoHostsAndDocs(27, 48)
    const server = etcdServer.server
    await server.kill()
    cleanups.push(() => server.run()) // whatever happens below, the next test has its etcd
    // Past the lease (and its margin) no root may confirm anything.
    await new Promise((r) => setTimeout(r, TTL_MS + 500))
    const seqs = docs.map((d) => d.seq)
    docs.forEach((d, i) => d.change((s) => void s.log.push(`outage-${i}`)))
    await new Promise((r) => setTimeout(r, 1000))
    expect(docs.map((d) => d.seq)).toEqual(seqs)
    expect(docs.every((d) => d.pendingCount === 1)).toBe(true)
    await server.run()
    cleanups.pop()
    await Promise.all(docs.map((d) => d.synced({ timeoutMs: 60_000 })))
    docs.forEach((d, i) => expect(d.state.log).toEqual([`before-${i}`, `outage-${i}`]))
    await waitFor(() => a.host.led().length + b.host.led().length === SHARDS, 'every shard led again', 30_000)
  })

  it('refuses a document opened in another shard’s tree, by name', async (ctx) => {
    if (etcdServer.skip(ctx)) return
    const network = new InprocNetwork({ seed: 22 })
    const prefix = newPrefix()
    await startHost(network, prefix, 'host-a')
    const forest = await startForest(network, prefix, 'forest')
    const wrong = ids.find((id) => shardOf(id, SHARDS) !== 0)!
    const endpoint = await forest.endpoint(0)
    const error = await endpoint.open(wrong, { timeoutMs: 10_000 }).catch((e: unknown) => e)
    expect((error as Error).message).toContain(`belongs to shard ${shardOf(wrong, SHARDS)}`)
  })

  it('a forest with no sharded host under its prefix says so, and how to start one', async (ctx) => {
    if (etcdServer.skip(ctx)) return
    const network = new InprocNetwork({ seed: 28 })
    const transport = new InprocTransport(network, { node: 'lonely' })
    const error = await Forest.start({
      endpoints: [etcdServer.server.endpoint],
      prefix: newPrefix(),
      configTimeoutMs: 500,
      endpoint: (shard) => ({ transport, bind: { inbound: network.uniqueAddress(`l-${shard}-in`), outbound: network.uniqueAddress(`l-${shard}-out`) } }),
    }).catch((e: unknown) => e)
    expect((error as Error).message).toContain('No sharded host has registered')
    expect((error as Error).message).toContain('--shards N')
  })

  it('a host with a store and no id is refused, saying why it needs one', async (ctx) => {
    if (etcdServer.skip(ctx)) return
    const network = new InprocNetwork({ seed: 31 })
    const transport = new InprocTransport(network, { node: 'anonymous' })
    const error = await ShardedHost.start({
      endpoints: [etcdServer.server.endpoint],
      prefix: newPrefix(),
      shards: SHARDS,
      endpoint: (shard) => ({ transport, storage: new MemoryStorage(), bind: { inbound: network.uniqueAddress(`anon-${shard}-in`), outbound: network.uniqueAddress(`anon-${shard}-out`) } }),
    }).catch((e: unknown) => e)
    expect((error as Error).message).toContain('a host with a store needs a stable `id`')
  })

  it('a host started with another shard count is refused, saying what the deployment uses', async (ctx) => {
    if (etcdServer.skip(ctx)) return
    const network = new InprocNetwork({ seed: 23 })
    const prefix = newPrefix()
    await startHost(network, prefix, 'host-a')
    const transport = new InprocTransport(network, { node: 'odd' })
    const error = await ShardedHost.start({
      endpoints: [etcdServer.server.endpoint],
      prefix,
      shards: SHARDS + 1,
      endpoint: (shard) => ({ transport, bind: { inbound: network.uniqueAddress(`odd-${shard}-in`), outbound: network.uniqueAddress(`odd-${shard}-out`) } }),
    }).catch((e: unknown) => e)
    expect((error as Error).message).toContain(`has ${SHARDS} shards, not ${SHARDS + 1}`)
  })
})
