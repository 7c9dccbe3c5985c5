/**
 * The same probes over ZeroMQ, against a root's tcp inbound: a hostile process that can reach
 * the port (no CURVE here) sends hand-made envelopes. The inbound is a ROUTER, so each frame
 * says which connection it came on and a connection is an identity, as at the WebSocket edge
 * (PROTOCOL.md, "Identity"): a frame claiming a child's id from another connection is refused
 * and counted, as is a second id on one connection; the descendant rule (a leaf speaks only
 * for itself, no one speaks for a direct child) and every value check hold too. Honest ZeroMQ
 * clients keep exchanging changes, and one that restarts joins again on its new connection.
 */
import { Endpoint, Kind, newEndpointId, type DocId, type EndpointId } from '@zinc/core'
import { describe, expect, it } from 'vitest'
import { waitFor } from '../helpers.js'
import { Resources } from '../zmq-helpers.js'
import { boundEachTest, honestChangeArrives } from './edge.js'
import { ZmqRaw } from './zmq-raw.js'

type Shapes = Record<string, unknown>

let res = new Resources()
// Stated bound for every probe in this file: the process grows by less than 100 MB (after GC).
boundEachTest(100, async () => {
  await res.close()
  res = new Resources()
})

async function setup() {
  const root = await res.endpoint({ peerTimeoutMs: 10_000 })
  const alice = await res.endpoint({ join: root.addresses })
  const bob = await res.endpoint({ join: root.addresses })
  const a = await alice.open<Shapes>('board', { initial: { list: [1, 2, 3] } })
  const b = await bob.open<Shapes>('board')
  const raw = new ZmqRaw(root.addresses)
  res.add(() => raw.close())
  // Joined as a leaf (no addresses): it may speak only for itself.
  await raw.join()
  await raw.open('board')
  return { root, alice, bob, a, b, raw }
}

describe('adversarial input over ZeroMQ (root inbound, tcp)', () => {
  it('proto and deep opens are refused by name; other opens go on', async () => {
    const { alice, a, b, raw } = await setup()
    await raw.open('p', '{"__proto__":{}}')
    await raw.open('d', '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000))
    await waitFor(() => raw.refusals.length >= 2, 'two refusals', 15_000)
    expect(raw.refusals.map((r) => [r.doc, r.code]).sort()).toEqual([
      ['d', 'ERR_BAD_VALUE'],
      ['p', 'ERR_BAD_VALUE'],
    ])
    const fresh = await alice.open<Shapes>('fresh', { initial: { ok: 1 } })
    expect(fresh.state.ok).toBe(1)
    await honestChangeArrives(a, b, 'zmq-opens')
  })

  it('deep presence and length amplification are refused; the document stays openable and small', async () => {
    const { root, a, b, raw } = await setup()
    await raw.send({ kind: Kind.PRESENCE, doc: 'board' as DocId, payload: new TextEncoder().encode('{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000)) })
    await raw.change('board', '[{"op":"replace","path":["list","length"],"value":10000000}]')
    await waitFor(() => raw.refusals.some((r) => r.kind === Kind.REJECT), 'the amplification to be rejected', 15_000)
    expect(raw.refusals.find((r) => r.kind === Kind.REJECT)!.reason).toMatch(/length/)
    await waitFor(() => (root.stats().refusedByCode.ERR_BAD_VALUE ?? 0) >= 2, 'both refusals counted', 15_000)
    const carol = await res.endpoint({ join: root.addresses })
    const c = await carol.open<Shapes>('board')
    expect((c.state.list as unknown[]).length).toBe(3)
    await honestChangeArrives(a, c, 'zmq-values')
    await honestChangeArrives(b, a, 'zmq-values-back')
    expect(root.stats().handlerErrors).toBe(0)
  })

  it('a leaf cannot speak for another endpoint, nor anyone for a direct child; forged frames are counted', async () => {
    const { root, alice, a, b, raw } = await setup()
    const before = root.stats().forged
    // Speaking for Alice (a direct child of the root), as the leaf it joined as.
    await raw.change('board', '[{"op":"add","path":["forged"],"value":1}]', { origin: alice.id, sender: raw.id, clientSeq: 1 })
    await raw.send({ kind: Kind.PRESENCE, doc: 'board' as DocId, origin: alice.id, sender: raw.id, payload: new TextEncoder().encode('{"cursor":[0,0]}') })
    // Speaking for someone it made up.
    await raw.change('board', '[{"op":"add","path":["forged2"],"value":1}]', { origin: newEndpointId() as EndpointId, sender: raw.id, clientSeq: 1 })
    await waitFor(() => root.stats().forged >= before + 3, 'three forged frames', 15_000)
    await honestChangeArrives(a, b, 'zmq-forged')
    expect(a.state.forged).toBeUndefined()
    expect(a.state.forged2).toBeUndefined()
  })

  it('another connection claiming to be Alice (sender and origin) is refused and counted; her changes land exactly once', async () => {
    const { root, alice, bob, a, b, raw } = await setup()
    const before = root.stats().forged
    const sequenced = root.stats().sequenced
    const forgery = (n: number) => `[{"op":"add","path":["forged${n}"],"value":1}]`
    // From the raw process's own (joined) connection: Alice's next clientSeqs, her presence,
    // and a document she never opened.
    for (let seq = 1; seq <= 3; seq++) await raw.change('board', forgery(seq), { origin: alice.id, sender: alice.id, clientSeq: seq })
    await raw.send({ kind: Kind.PRESENCE, doc: 'board' as DocId, origin: bob.id, sender: bob.id, payload: new TextEncoder().encode('{"cursor":[1,2]}') })
    await raw.change('other', forgery(4), { origin: alice.id, sender: alice.id, clientSeq: 4 })
    // From a connection that never said HELLO at all.
    const stranger = new ZmqRaw(root.addresses)
    res.add(() => stranger.close())
    await stranger.change('board', forgery(5), { origin: alice.id, sender: alice.id, clientSeq: 1 })
    await waitFor(() => root.stats().forged >= before + 6, 'six forged frames', 15_000)
    expect(root.stats().refusedByCode.ERR_IDENTITY).toBeGreaterThanOrEqual(6)
    expect(root.stats().sequenced).toBe(sequenced)
    // Alice's own changes are hers: each lands once, at Bob and at a newcomer.
    for (let i = 0; i < 3; i++) {
      a.change((d) => void (d.list as unknown[]).push(`alice-${i}`))
      await a.synced()
    }
    await waitFor(() => (b.state.list as unknown[]).length === 6, 'Alice’s three changes at Bob', 15_000)
    const carol = await res.endpoint({ join: root.addresses })
    const c = await carol.open<Shapes>('board')
    for (const state of [a.state, b.state, c.state]) {
      expect(state.list).toEqual([1, 2, 3, 'alice-0', 'alice-1', 'alice-2'])
      for (let n = 1; n <= 5; n++) expect(state[`forged${n}`]).toBeUndefined()
    }
    expect(b.presence.get().has(bob.id)).toBe(false)
    await honestChangeArrives(b, a, 'zmq-impersonation-back')
    expect(root.stats().handlerErrors).toBe(0)
  })

  it('a HELLO for a connected child’s id from another connection is refused; so is a second id on one connection', async () => {
    const { root, alice, a, b, raw } = await setup()
    const before = root.stats().forged
    const thief = new ZmqRaw(root.addresses, { id: alice.id })
    res.add(() => thief.close())
    await thief.hello()
    await thief.open('board')
    // The raw process's connection already joined as itself: another id on it is refused too.
    await raw.send({ kind: Kind.HELLO, origin: newEndpointId() as EndpointId, payload: raw.helloPayload() })
    await waitFor(() => root.stats().forged >= before + 3, 'the stolen hello, its open and the second id counted', 15_000)
    expect(thief.welcomed).toBe(false)
    expect(root.stats().children).toBe(3)
    await honestChangeArrives(a, b, 'zmq-theft')
    await honestChangeArrives(b, a, 'zmq-theft-back')
    expect(root.peers.some((p) => p.id === alice.id)).toBe(true)
  })

  it('a child that restarts under its id joins again on its new connection, and its changes count', async () => {
    const { root, alice, b } = await setup()
    const id = alice.id
    await alice.close()
    const again = await res.endpoint({ id, join: root.addresses })
    const a2 = await again.open<Shapes>('board')
    a2.change((d) => void (d.restarted = true))
    await a2.synced()
    await waitFor(() => b.state.restarted === true, 'the restarted child’s change at Bob', 15_000)
    await honestChangeArrives(b, a2, 'zmq-restarted')
    expect(root.peers.some((p) => p.id === id)).toBe(true)
  })

  it('a child whose process dies without a word gets its id back on its new connection', async () => {
    const { root, b } = await setup()
    // Its sockets close with the transport (no LEAVE): the root still counts it a child.
    const transport = res.transport()
    const dying = await res.endpoint({ transport, join: root.addresses })
    const id = dying.id
    await dying.open<Shapes>('board')
    await transport.close()
    expect(root.peers.some((p) => p.id === id)).toBe(true)
    // Its old connection is gone, so the id is free for the new one (were it thought alive, the
    // HELLO would be refused as taking a connected peer's id, for good).
    const again = await res.endpoint({ id, join: root.addresses })
    const a2 = await again.open<Shapes>('board')
    a2.change((d) => void (d.revived = true))
    await a2.synced()
    await waitFor(() => b.state.revived === true, 'the revived child’s change at Bob', 15_000)
    await honestChangeArrives(b, a2, 'zmq-revived')
  })

  it('a child whose frames come on a new connection while its id is bound to one that closed is told to say hello there (crossed links: sharded chaos seed 153)', async () => {
    const { a, b, raw } = await setup()
    // Its new link (a new DEALER, so a new session) comes up without a hello of its own — as when
    // a hello still queued on the old link was the one welcomed — and then the old link closes.
    const moved = new ZmqRaw(raw.addresses, { id: raw.id })
    res.add(() => moved.close())
    raw.close()
    // Every frame on the new link is refused (wrong sender) until the child says hello on it: it
    // must be told so, or it waits on a parent that drops all it sends, for good.
    await waitFor(
      () => {
        void moved.change('board', '[{"op":"add","path":["lost"],"value":1}]')
        return moved.refusals.some((r) => r.code === 'ERR_NOT_JOINED')
      },
      'the child to be told to join again on its new link',
      15_000,
    )
    await moved.join()
    await moved.open('board')
    await waitFor(
      () => {
        void moved.change('board', '[{"op":"add","path":["back"],"value":1}]', { clientSeq: 1 })
        return a.state.back === 1
      },
      'its change on the new link to land',
      15_000,
    )
    await honestChangeArrives(a, b, 'zmq-crossed-links')
  })
})

export type { Endpoint }
