import { consoleLogger, Endpoint, MemoryStorage, type CoordinatedMember, type DocId, type Coordinator, type Document, type Leader } from '@zinc/core'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { afterEach, describe, expect, it } from 'vitest'
import { FAST, waitFor } from './helpers.js'

/**
 * The coordinator seam (EndpointOptions.coordinator) driven by hand, without a service: what
 * the endpoint does when told it leads, that another leads, or that its leadership cannot be
 * proved for a while. The etcd coordinator's own tests (packages/coordinator-etcd/test) run the
 * same paths against a real etcd.
 */
class HandCoordinator implements Coordinator {
  readonly name = 'by hand'
  member: CoordinatedMember | undefined
  issuedEpoch = 0
  certain = true
  leading = false

  async start(member: CoordinatedMember): Promise<void> {
    this.member = member
  }

  mayConfirm(): boolean {
    return this.leading && this.certain
  }

  lead(epoch: number, handover?: Leader): void {
    this.issuedEpoch = Math.max(this.issuedEpoch, epoch)
    this.leading = true
    this.certain = true
    this.member!.lead(epoch, handover)
  }

  follow(leader: Leader): void {
    this.issuedEpoch = Math.max(this.issuedEpoch, leader.epoch)
    if (this.leading) this.member!.lapsed('another leader')
    this.leading = false
    this.member!.follow(leader)
  }

  async close(): Promise<void> {}
}

const open: Endpoint[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()))
})

async function member(network: InprocNetwork, name: string, coordinator: HandCoordinator, before?: () => void, storage?: MemoryStorage, peerTimeoutMs = FAST.peerTimeoutMs): Promise<Endpoint> {
  const starting = Endpoint.start({
    ...FAST,
    peerTimeoutMs,
    ...(storage ? { storage } : {}),
    transport: new InprocTransport(network, { node: name }),
    bind: { inbound: network.uniqueAddress(`${name}-in`), outbound: network.uniqueAddress(`${name}-out`) },
    coordinator,
    // ZINC_LOG=info prints each member's log, named.
    ...(process.env.ZINC_LOG ? { logger: consoleLogger(process.env.ZINC_LOG as 'info', { name }) } : {}),
  })
  // start() waits until the member leads or has joined a leader: decide once it is started.
  await waitFor(() => coordinator.member !== undefined, `${name} started`)
  before?.()
  const endpoint = await starting
  open.push(endpoint)
  return endpoint
}

describe('coordinated endpoints (by hand)', () => {
  it('a root whose leadership is briefly unproved confirms nothing meanwhile, then resumes', async () => {
    const network = new InprocNetwork({ seed: 3 })
    const c = new HandCoordinator()
    const root = await member(network, 'a', c, () => c.lead(10))
    expect(root.role).toBe('host')
    expect(root.epoch).toBe(10)
    const doc: Document<{ n: number }> = await root.open('doc', { initial: { n: 0 } })
    doc.change((d) => void (d.n = 1))
    await doc.synced()
    c.certain = false
    doc.change((d) => void (d.n = 2))
    doc.change((d) => void (d.n = 3))
    await new Promise((r) => setTimeout(r, FAST.heartbeatMs * 5))
    expect(doc.pendingCount).toBe(2)
    const seq = doc.seq
    c.certain = true
    await doc.synced({ timeoutMs: 10_000 })
    expect(doc.seq).toBe(seq + 2)
    expect(doc.state.n).toBe(3)
    expect(root.role).toBe('host')
  })

  it('a window that closed only between two ticks holds nothing for good', async () => {
    const network = new InprocNetwork({ seed: 5 })
    const c = new HandCoordinator()
    const root = await member(network, 'a', c, () => c.lead(3))
    const doc: Document<{ n: number }> = await root.open('doc', { initial: { n: 0 } })
    c.certain = false
    doc.change((d) => void (d.n = 1))
    // The sequencer's flush (a turn later) finds the window closed and pauses; it reopens before a tick.
    await new Promise((r) => setTimeout(r, 3))
    c.certain = true
    await doc.synced({ timeoutMs: 10_000 })
    expect(doc.state.n).toBe(1)
  })

  it('a root whose window flickers while it and a child write confirms everything in the end', async () => {
    const network = new InprocNetwork({ seed: 6 })
    const ca = new HandCoordinator()
    const cb = new HandCoordinator()
    const a = await member(network, 'a', ca, () => ca.lead(5))
    const b = await member(network, 'b', cb, () => cb.follow({ id: a.id, epoch: 5, addresses: a.addresses }))
    const da: Document<{ log: string[] }> = await a.open('doc', { initial: { log: [] } })
    const db: Document<{ log: string[] }> = await b.open('doc')
    for (let i = 0; i < 200; i++) {
      ;(i % 2 ? da : db).change((d) => void d.log.push(`t${i}`))
      if (i % 7 === 0) ca.certain = !ca.certain
      await new Promise((r) => setTimeout(r, i % 3))
    }
    ca.certain = true
    await Promise.all([da.synced({ timeoutMs: 15_000 }), db.synced({ timeoutMs: 15_000 })])
    await waitFor(() => da.seq === db.seq, 'same seq')
    expect(new Set(da.state.log).size).toBe(200)
  })

  it('follows the leader it is told of, and a root told of a newer leader steps down and joins it', async () => {
    const network = new InprocNetwork({ seed: 4 })
    const ca = new HandCoordinator()
    const cb = new HandCoordinator()
    const a = await member(network, 'a', ca, () => ca.lead(5))
    const b = await member(network, 'b', cb, () => cb.follow({ id: a.id, epoch: 5, addresses: a.addresses }))
    expect(b.role).toBe('client')
    const da: Document<{ log: string[] }> = await a.open('doc', { initial: { log: [] } })
    const db: Document<{ log: string[] }> = await b.open('doc')
    da.change((d) => void d.log.push('a1'))
    db.change((d) => void d.log.push('b1'))
    await Promise.all([da.synced(), db.synced()])
    // The service now names b, at a higher epoch; a is told b leads.
    cb.lead(8)
    ca.follow({ id: b.id, epoch: 8, addresses: b.addresses })
    da.change((d) => void d.log.push('a2'))
    await waitFor(() => b.role === 'host' && a.role === 'client' && a.epoch === 8, 'b root, a its client at epoch 8')
    await Promise.all([da.synced({ timeoutMs: 10_000 }), db.synced({ timeoutMs: 10_000 })])
    await waitFor(() => da.seq === db.seq, 'same seq')
    expect([...db.state.log].sort()).toEqual(['a1', 'a2', 'b1'])
    expect(da.state).toEqual(db.state)
  })

  it('paused roots replaced in turn: every change confirmed in the end, once', async () => {
    const network = new InprocNetwork({ seed: 9 })
    const names = ['a', 'b', 'c']
    const hands = names.map(() => new HandCoordinator())
    const eps: Endpoint[] = []
    for (let i = 0; i < 3; i++) {
      const starting = Endpoint.start({
        ...FAST,
        transport: new InprocTransport(network, { node: names[i]! }),
        bind: { inbound: network.uniqueAddress(`${names[i]}-in`), outbound: network.uniqueAddress(`${names[i]}-out`) },
        coordinator: hands[i]!,
      })
      await waitFor(() => hands[i]!.member !== undefined, 'started')
      if (i === 0) hands[0]!.lead(2)
      else hands[i]!.follow({ id: eps[0]!.id, epoch: 2, addresses: eps[0]!.addresses })
      eps.push(await starting)
      open.push(eps[i]!)
    }
    const docs: Array<Document<{ log: string[] }>> = []
    for (const e of eps) docs.push(await e.open('doc', { initial: { log: [] } }))
    let n = 0
    const write = (k: number) => {
      for (let i = 0; i < k; i++, n++) docs[n % 3]!.change((d) => void d.log.push(`t${n}`))
    }
    let root = 0
    let epoch = 2
    for (let round = 0; round < 6; round++) {
      write(30)
      await new Promise((r) => setTimeout(r, 50))
      // The root "pauses": cut off from everyone, its window closed.
      hands[root]!.certain = false
      const others = names.filter((_, i) => i !== root)
      network.partition([names[root]!], others)
      write(15)
      const next = (root + 1) % 3
      epoch += 3
      hands[next]!.lead(epoch)
      for (let i = 0; i < 3; i++) if (i !== next && i !== root) hands[i]!.follow({ id: eps[next]!.id, epoch, addresses: eps[next]!.addresses })
      write(15)
      await new Promise((r) => setTimeout(r, 300))
      network.heal()
      hands[root]!.follow({ id: eps[next]!.id, epoch, addresses: eps[next]!.addresses })
      root = next
      await waitFor(() => eps.every((e) => e.epoch === epoch), `round ${round}: everyone at epoch ${epoch}`)
    }
    await Promise.all(docs.map((d) => d.synced({ timeoutMs: 20_000 })))
    await waitFor(() => docs.every((d) => d.seq === docs[0]!.seq), 'same seq')
    const log = docs[0]!.state.log
    for (let i = 0; i < n; i++)
      expect(
        log.filter((t) => t === `t${i}`),
        `t${i}`,
      ).toHaveLength(1)
  })

  it.each([
    ['a root from the start', false, 1, false, false],
    ['a root that was a child before (its last roster names itself: seed 104)', true, 1, false, false],
    ['a root with storage whose own branch is longer than the later one (its store is replaced, not left ahead: appends were refused for good)', false, 20, true, false],
    ['a root that lapsed and began to follow the later root before it was elected again, its old children still listed (seed 121)', false, 1, false, true],
  ])(
    "a root elected again after a later root's tenure takes the later branch: what that root confirmed stays where it was (issue 12, sharded chaos seed 102): %s",
    async (_, childFirst, staleChanges, withStorage, lapseFirst) => {
      const storage = withStorage ? new MemoryStorage() : undefined
      const network = new InprocNetwork({ seed: 12 })
      const names = ['a', 'b', 'c', 'd']
      const hands = names.map(() => new HandCoordinator())
      const eps: Endpoint[] = []
      // When a was a child before: of z, alone, so its last roster (from z) lists a only.
      if (childFirst) {
        const hz = new HandCoordinator()
        const z = await member(network, 'z', hz, () => hz.lead(2))
        eps.push(await member(network, 'a', hands[0]!, () => hands[0]!.follow({ id: z.id, epoch: 2, addresses: z.addresses })))
        await waitFor(() => eps[0]!.epoch === 2 && eps[0]!.role === 'client', 'a follows z')
        await z.close()
        hands[0]!.lead(5)
        await waitFor(() => eps[0]!.role === 'host', 'a leads')
      } else eps.push(await member(network, 'a', hands[0]!, () => hands[0]!.lead(5), storage, lapseFirst ? 4000 : FAST.peerTimeoutMs))
      for (let i = 1; i < names.length; i++) eps.push(await member(network, names[i]!, hands[i]!, () => hands[i]!.follow({ id: eps[0]!.id, epoch: 5, addresses: eps[0]!.addresses })))
      const [a, b, c, d] = eps as [Endpoint, Endpoint, Endpoint, Endpoint]
      const [ha, hb, hc, hd] = hands as [HandCoordinator, HandCoordinator, HandCoordinator, HandCoordinator]
      const docs: Array<Document<{ log: string[] }>> = []
      for (const e of eps) docs.push(await e.open('doc', { initial: { log: [] } }))
      const [da, , dc, dd] = docs as [Document<{ log: string[] }>, Document<{ log: string[] }>, Document<{ log: string[] }>, Document<{ log: string[] }>]
      dc.change((s) => void s.log.push('before'))
      await Promise.all(docs.map((doc) => doc.synced({ timeoutMs: 10_000 })))
      await waitFor(() => docs.every((doc) => doc.seq === da.seq), 'everyone has the first change')
      // a stops being heard (paused, as the others see it). Before it is cut off for good it
      // sequences a change of its own, then one of c's that c never hears back about: c resends
      // that one to the next root, so both branches hold it, at different places.
      network.partition(['a'], ['b', 'c', 'd'], { oneWay: true })
      for (let i = 0; i < staleChanges; i++) da.change((s) => void s.log.push('stale-a'))
      await da.synced({ timeoutMs: 10_000 })
      dc.change((s) => void s.log.push('x'))
      await waitFor(() => da.state.log.includes('x') && da.pendingCount === 0, 'a sequenced x')
      network.heal()
      network.partition(['a'], ['b', 'c', 'd'])
      // (A root that lapses, as a paused one does on waking, and is told of the next leader, whom it
      // cannot reach. Its peer timeout is long: it still lists its old children when elected again.)
      if (lapseFirst) {
        ha.member!.lapsed('paused')
        ha.follow({ id: b.id, epoch: 7, addresses: b.addresses })
      }
      // b leads at a later epoch; c and d write there, interleaved, each change confirmed by b.
      hb.lead(7)
      hc.follow({ id: b.id, epoch: 7, addresses: b.addresses })
      hd.follow({ id: b.id, epoch: 7, addresses: b.addresses })
      await waitFor(() => c.epoch === 7 && d.epoch === 7 && b.role === 'host', 'c and d follow b')
      await dc.synced({ timeoutMs: 10_000 })
      const confirmed: string[] = ['before', 'x']
      for (let i = 0; i < 6; i++) {
        for (const [name, doc] of [
          ['c', dc],
          ['d', dd],
        ] as const) {
          doc.change((s) => void s.log.push(`${name}${i}`))
          await doc.synced({ timeoutMs: 10_000 })
          confirmed.push(`${name}${i}`)
        }
      }
      await waitFor(() => dc.seq === dd.seq, 'c and d hold the same history')
      // The list as b's history ordered it (concurrent inserts at one place are ordered by the root).
      const laterBranch = [...dc.state.log]
      expect([...laterBranch].sort()).toEqual([...confirmed].sort())
      // b dies; a, back, is elected again (a later epoch), and c and d follow it.
      await b.close()
      network.heal()
      ha.lead(9)
      hc.follow({ id: a.id, epoch: 9, addresses: a.addresses })
      hd.follow({ id: a.id, epoch: 9, addresses: a.addresses })
      await waitFor(() => c.epoch === 9 && d.epoch === 9 && a.role === 'host', 'c and d follow a')
      const live = [da, dc, dd]
      await Promise.all(live.map((doc) => doc.synced({ timeoutMs: 20_000 })))
      await waitFor(() => live.every((doc) => doc.seq === da.seq), 'everyone at the same seq')
      // Every change b confirmed, in b's order, each once; a's own change from its stale branch too.
      expect(da.state.log.filter((t) => t !== 'stale-a')).toEqual(laterBranch)
      expect(da.state.log.filter((t) => t === 'stale-a')).toHaveLength(staleChanges)
      // What a stored is the history everyone has.
      if (storage) expect((await storage.load('doc' as DocId))!.fragments.at(-1)?.seq ?? (await storage.load('doc' as DocId))!.snapshot!.seq).toBe(da.seq)
      for (const doc of live) expect(doc.state).toEqual(da.state)
    },
  )

  it('a root handed the tree over re-asks the previous root whose first answer was lost, though others brought it level meanwhile (sharded chaos seed 137)', async () => {
    const network = new InprocNetwork({ seed: 137 })
    const [ha, hb, hc] = [new HandCoordinator(), new HandCoordinator(), new HandCoordinator()]
    const a = await member(network, 'a', ha, () => ha.lead(5))
    // b hears nothing from a for a while without giving a up (a long peer timeout).
    const b = await member(network, 'b', hb, () => hb.follow({ id: a.id, epoch: 5, addresses: a.addresses }), undefined, 60_000)
    const c = await member(network, 'c', hc, () => hc.follow({ id: a.id, epoch: 5, addresses: a.addresses }))
    const [, db, dc] = (await Promise.all([a, b, c].map((e) => e.open('doc', { initial: { log: [] } })))) as Array<Document<{ log: string[] }>>
    dc!.change((s) => void s.log.push('first'))
    await dc!.synced({ timeoutMs: 10_000 })
    await waitFor(() => db!.seq === dc!.seq, 'b has the first change')
    // b misses what a sequences next; then b's requests to a vanish (b stays behind).
    network.partition(['a'], ['b'], { oneWay: true })
    for (let i = 0; i < 3; i++) dc!.change((s) => void s.log.push(`missed-${i}`))
    await dc!.synced({ timeoutMs: 10_000 })
    network.heal()
    network.partition(['b'], ['a'], { oneWay: true })
    // a hands the shard over to b: b must recover from a, and its first request to a is lost;
    // c, also ahead of b, brings b level with a.
    hb.lead(7, { id: a.id, epoch: 5, addresses: a.addresses! })
    ha.follow({ id: b.id, epoch: 7, addresses: b.addresses! })
    hc.follow({ id: b.id, epoch: 7, addresses: b.addresses! })
    await waitFor(() => db!.seq === dc!.seq, 'c brought b level with a')
    network.heal()
    // Only a's answer ends b's wait; once it is in, b sequences again.
    dc!.change((s) => void s.log.push('after'))
    await dc!.synced({ timeoutMs: 20_000 })
    await waitFor(() => db!.seq === dc!.seq, 'b has it')
    expect(db!.state.log).toEqual(['first', 'missed-0', 'missed-1', 'missed-2', 'after'])
  })

  it('a coordinated endpoint needs bind and no join', async () => {
    const network = new InprocNetwork()
    const transport = new InprocTransport(network)
    await expect(Endpoint.start({ transport, join: { inbound: 'inproc://x-in', outbound: 'inproc://x-out' }, coordinator: new HandCoordinator() })).rejects.toThrow(/must `bind`/)
    await expect(
      Endpoint.start({ transport, bind: { inbound: 'inproc://y-in', outbound: 'inproc://y-out' }, join: { inbound: 'inproc://x-in', outbound: 'inproc://x-out' }, coordinator: new HandCoordinator() }),
    ).rejects.toThrow(/leave out `join`/)
  })
})
