/**
 * Identity at the WebSocket edge: a connection is an identity. A peer cannot speak for another
 * (origin, sender, presence), cannot take a connected peer's id, gets nothing before it passes
 * `authenticate`, and cannot multiply itself into fresh ids on one connection.
 */
import { BatchCodec, encodeMessage, encodeOp, Kind, kindName, SnapshotCodec, type DocId, type EndpointStats } from '@zinc/core'
import { describe, expect, it } from 'vitest'
import { waitFor } from '../helpers.js'
import { boundEachTest, honestChangeArrives, RawPeer, rssMb, startEdge, type Edge } from './edge.js'

type Shapes = Record<string, unknown>

let edge: Edge | undefined
const peers: RawPeer[] = []

// Stated bound for every probe in this file: the process grows by less than 100 MB (after GC).
boundEachTest(100, async () => {
  for (const p of peers.splice(0)) p.close()
  await edge?.close()
  edge = undefined
})

async function raw(e: Edge, options: Parameters<typeof RawPeer.connect>[1] = {}): Promise<RawPeer> {
  const peer = await RawPeer.connect(e.addresses, options)
  peers.push(peer)
  return peer
}

/** A raw peer that joined properly (its own id, its own session) and opened `doc`. */
async function joinedRaw(e: Edge, doc: string): Promise<RawPeer> {
  const peer = await raw(e)
  peer.hello()
  await waitFor(() => peer.welcomed(), 'the raw peer to be welcomed')
  peer.open(doc)
  await waitFor(() => peer.received.some((r) => r.message.kind === Kind.SNAPSHOT && r.message.doc === doc), 'the raw peer to get its snapshot')
  return peer
}

/** An edge with Alice and Bob on 'board', and a raw attacker joined properly that opened it too. */
async function boardWithAttacker() {
  edge = await startEdge()
  const alice = await edge.client()
  const bob = await edge.client()
  const a = await alice.open<Shapes>('board', { initial: {} })
  const b = await bob.open<Shapes>('board', { initial: {} })
  const attacker = await joinedRaw(edge, 'board')
  return { alice, bob, a, b, attacker }
}

function forged(stats: EndpointStats): number {
  return stats.forged
}

describe('a connection is an identity (WebSocket edge, ZeroMQ root)', () => {
  it('a forged origin or sender is refused and counted; the victim keeps working and nothing honest is lost', async () => {
    const { alice, bob, a, b, attacker } = await boardWithAttacker()
    const before = forged(edge.relay.stats())

    // As Alice, sender and origin both hers, on the attacker's connection.
    attacker.change('board', '[{"op":"add","path":["forged1"],"value":1}]', { origin: alice.id, sender: alice.id, clientSeq: 1 })
    // As itself, speaking for Alice (a leaf speaks only for itself).
    attacker.change('board', '[{"op":"add","path":["forged2"],"value":1}]', { origin: alice.id, clientSeq: 2 })
    // Presence under Bob's name: a fake cursor.
    attacker.send({ kind: Kind.PRESENCE, doc: 'board' as DocId, origin: bob.id, sender: bob.id, payload: new TextEncoder().encode('{"cursor":[1,2]}') })
    // For a document it never opened, as Alice.
    attacker.change('other', '[{"op":"add","path":["x"],"value":1}]', { origin: alice.id, sender: alice.id, clientSeq: 3 })

    await waitFor(() => forged(edge!.relay.stats()) >= before + 4, 'four forged frames to be counted')
    expect(edge.relay.stats().refusedByCode.ERR_IDENTITY).toBeGreaterThanOrEqual(4)
    // Alice's own changes are still hers: the next one is confirmed and everyone has it.
    const stop = a.change((d) => {
      d.alice = 'real'
    })
    expect(stop).toBeDefined()
    await a.synced()
    await waitFor(() => b.state.alice === 'real', 'Alice’s real change at Bob')
    await honestChangeArrives(b, a, 'after-forgery')
    expect(a.state.forged1).toBeUndefined()
    expect(a.state.forged2).toBeUndefined()
    expect(b.state.forged1).toBeUndefined()
    expect(a.presence.get().has(bob.id)).toBe(false)
    expect(edge.root.stats().sequenced).toBeGreaterThanOrEqual(2)
  })

  it("a BRANCH from a leaf is refused: a leaf speaks only for itself, and a branch's fragments carry others' origins (a forged change of Alice's, merged, would swallow her next one)", async () => {
    const { alice, a, b, attacker } = await boardWithAttacker()
    const snapshot = attacker.received.find((r) => r.message.kind === Kind.SNAPSHOT && r.message.doc === 'board')!.message
    const fork = snapshot.seq
    const history = SnapshotCodec.decode(snapshot.payload).history
    // Alice's first change, as if another history had sequenced it right after the fork.
    const forgedFragment = encodeMessage({
      kind: Kind.FRAGMENT,
      origin: alice.id,
      sender: alice.id,
      doc: 'board' as DocId,
      clientSeq: 1,
      seq: fork + 1,
      baseSeq: fork,
      epoch: 1,
      payload: encodeOp(['forgedBranch', { i: 1 }]),
    })
    const before = edge.relay.stats()
    attacker.send({ kind: Kind.BRANCH, doc: 'board' as DocId, seq: fork, payload: BatchCodec.encode({ envelopes: [forgedFragment], history }) })
    await waitFor(() => edge!.relay.stats().forged > before.forged, 'the branch to be refused and counted')
    // Alice's own first change is hers: confirmed, and at Bob's.
    a.change((d) => {
      d.alice = 'real'
    })
    await a.synced()
    await waitFor(() => b.state.alice === 'real', 'Alice’s real change at Bob')
    await honestChangeArrives(b, a, 'after-branch')
    expect(a.state.forgedBranch).toBeUndefined()
    expect(b.state.forgedBranch).toBeUndefined()
  })

  it('a batch of presence (PRESENCES) from a leaf is checked value by value: a forged cursor inside is refused, its own still counts', async () => {
    edge = await startEdge()
    const bob = await edge.client()
    const watcher = await edge.client()
    const b = await bob.open<Shapes>('board', { initial: {} })
    const w = await watcher.open<Shapes>('board', { initial: {} })
    const attacker = await joinedRaw(edge, 'board')
    const before = forged(edge.relay.stats())
    const value = (v: unknown) => new TextEncoder().encode(JSON.stringify(v))
    const inner = (origin: typeof bob.id, v: unknown) => encodeMessage({ kind: Kind.PRESENCE, doc: 'board' as DocId, origin, sender: attacker.id, epoch: 1, payload: value(v) })
    const envelopes = [inner(bob.id, { cursor: 'fake' }), inner(attacker.id, { cursor: 'mine' }), new Uint8Array([1, 2, 3])]
    attacker.send({ kind: Kind.PRESENCES, doc: 'board' as DocId, payload: BatchCodec.encode({ envelopes }) })
    await waitFor(() => (w.presence.get().get(attacker.id) as { cursor?: string } | undefined)?.cursor === 'mine', 'the attacker’s own cursor reaches the others')
    expect(forged(edge.relay.stats())).toBeGreaterThan(before)
    expect(w.presence.get().has(bob.id)).toBe(false)
    await honestChangeArrives(w, b, 'after-forged-batch')
  })

  it('a HELLO for a connected peer’s id from another connection is dropped; the owner is untouched', async () => {
    edge = await startEdge()
    const alice = await edge.client()
    const bob = await edge.client()
    const a = await alice.open<Shapes>('board', { initial: {} })
    const b = await bob.open<Shapes>('board', { initial: {} })
    const thief = await raw(edge, { id: alice.id })
    thief.hello()
    thief.open('board')
    await waitFor(() => edge!.relay.stats().forged >= 1, 'the stolen hello to be counted')
    // The thief hears nothing meant for Alice: no welcome, no snapshot, no changes.
    await honestChangeArrives(a, b, 'after-theft')
    await honestChangeArrives(b, a, 'after-theft-back')
    expect(thief.received.filter((r) => r.message.kind !== Kind.REFUSE)).toEqual([])
  })

  it('a peer refused by authenticate gets nothing: no roster, no document data, no presence, and its changes are not applied', async () => {
    edge = await startEdge({ relay: { authenticate: ({ token }) => token === 'good' || 'unknown token; sign in again' } })
    const alice = await edge.client({ token: 'good' })
    const bob = await edge.client({ token: 'good' })
    const a = await alice.open<Shapes>('board', { initial: { secret: 42 } })
    const b = await bob.open<Shapes>('board', { initial: {} })
    a.presence.set({ cursor: [1, 1] })
    // Subscribes to everything, says hello with a bad token, opens, changes as itself and as Alice.
    const intruder = await raw(edge, { subscribe: [''] })
    intruder.hello('bad')
    intruder.open('board')
    intruder.change('board', '[{"op":"add","path":["intruder"],"value":1}]')
    intruder.change('board', '[{"op":"add","path":["intruder2"],"value":1}]', { origin: alice.id, sender: alice.id, clientSeq: 99 })
    await waitFor(() => intruder.refusals().some((r) => r.code === 'ERR_AUTH'), 'the intruder to hear ERR_AUTH')
    for (let i = 0; i < 5; i++) await honestChangeArrives(a, b, `while-intruder-${i}`)
    a.presence.set({ cursor: [2, 2] })
    await waitFor(() => (b.presence.get().get(alice.id) as { cursor: number[] } | undefined)?.cursor[0] === 2, 'Alice’s cursor at Bob')
    const kinds = new Set(intruder.received.map((r) => kindName(r.message.kind)))
    expect([...kinds]).toEqual(['REFUSE'])
    expect(intruder.refusals().every((r) => r.code === 'ERR_AUTH' || r.code === 'ERR_NOT_JOINED')).toBe(true)
    expect(intruder.refusals().find((r) => r.code === 'ERR_AUTH')?.reason).toMatch(/unknown token/)
    expect(a.state.intruder).toBeUndefined()
    expect(a.state.intruder2).toBeUndefined()
    expect(edge.ws.stats().gatedOut).toBeGreaterThan(0)
  })

  it('an id whose connection closed must pass authenticate again on a new one, even while still in the roster', async () => {
    edge = await startEdge({ relay: { authenticate: ({ token }) => token === 'good' || 'unknown token; sign in again' } })
    const alice = await edge.client({ token: 'good' })
    const bob = await edge.client({ token: 'good' })
    const a = await alice.open<Shapes>('board', { initial: {} })
    const b = await bob.open<Shapes>('board', { initial: {} })
    const victim = await raw(edge)
    victim.hello('good')
    await waitFor(() => victim.welcomed(), 'the victim to be welcomed')
    victim.open('board')
    await waitFor(() => victim.received.some((r) => r.message.kind === Kind.SNAPSHOT), 'the victim’s snapshot')
    victim.close()
    // Before the relay drops the victim for silence, someone else says HELLO with its id.
    const thief = await raw(edge, { id: victim.id })
    // It says HELLO until answered, as a client does (until the relay has seen the victim's
    // connection close, the id is still taken and the HELLO is dropped unanswered).
    let lastHello = 0
    await waitFor(() => {
      if (Date.now() - lastHello > 200) {
        lastHello = Date.now()
        thief.hello('bad')
      }
      return thief.refusals().some((r) => r.code === 'ERR_AUTH')
    }, 'the thief to be refused')
    thief.open('board')
    thief.change('board', '[{"op":"add","path":["stolen"],"value":1}]', { clientSeq: 50 })
    await honestChangeArrives(a, b, 'after-moved-id')
    expect(thief.welcomed()).toBe(false)
    expect(thief.received.some((r) => r.message.kind === Kind.SNAPSHOT)).toBe(false)
    expect(a.state.stolen).toBeUndefined()
  })

  it('a fresh-id flood on one connection gets one id; the rate limit holds per connection', async () => {
    edge = await startEdge({ relay: { childRateLimit: { perSecond: 50, burst: 50 } } })
    const alice = await edge.client()
    const bob = await edge.client()
    const a = await alice.open<Shapes>('board', { initial: {} })
    const b = await bob.open<Shapes>('board', { initial: {} })
    const rssBefore = rssMb()
    const flooder = await raw(edge)
    const children = edge.relay.stats().children
    const ids: RawPeer[] = []
    // Ten ids on one connection: the first binds, the other nine are identity violations.
    for (let i = 0; i < 10; i++) {
      const fake = Object.create(flooder) as RawPeer
      Object.defineProperty(fake, 'id', { value: crypto.randomUUID() })
      ids.push(fake)
      fake.hello()
    }
    await waitFor(() => edge!.relay.stats().forged >= 9, 'nine extra ids to be refused')
    await waitFor(() => edge!.relay.stats().children === children + 1, 'exactly one new child')
    const first = ids[0]!
    first.open('board')
    await waitFor(() => flooder.received.some((r) => r.message.kind === Kind.SNAPSHOT), 'the first id to open')
    // 1,000 changes from all ten ids as fast as possible: only the bound id counts, and it is throttled.
    for (let n = 0; n < 100; n++) for (const fake of ids) fake.change('board', `[{"op":"add","path":["f${n}"],"value":${n}}]`)
    await waitFor(() => edge!.relay.stats().throttled > 0, 'the bound id to be throttled')
    await honestChangeArrives(a, b, 'after-flood')
    expect(edge.relay.stats().forged).toBeGreaterThanOrEqual(900)
    // Stated bound: the flood costs the process less than 150 MB.
    expect(rssMb() - rssBefore).toBeLessThan(150)
  })
})
