/**
 * The same probes over ZeroMQ, against a root's tcp inbound: a hostile process that can reach
 * the port (no CURVE here) sends hand-made envelopes. ZeroMQ's PULL carries no routing id, so a
 * frame's identity cannot be checked against its connection (PROTOCOL.md, "Identity"); what
 * is enforced is the descendant rule (a leaf speaks only for itself, no one speaks for a direct
 * child) and every value check. Honest ZeroMQ clients keep exchanging changes.
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
    // (Claiming to *be* Alice, sender and origin, cannot be told apart over a ZeroMQ PULL: there
    // the boundary is CURVE + ZAP, which decides who may connect at all. PROTOCOL.md, "Identity".)
    await waitFor(() => root.stats().forged >= before + 3, 'three forged frames', 15_000)
    await honestChangeArrives(a, b, 'zmq-forged')
    expect(a.state.forged).toBeUndefined()
    expect(a.state.forged2).toBeUndefined()
  })
})

export type { Endpoint }
