/**
 * The same probes over ZeroMQ, against a root's tcp inbound: a hostile process that can reach
 * the port (no CURVE here) sends hand-made envelopes. ZeroMQ's PULL carries no routing id, so a
 * frame's identity cannot be checked against its connection (PROTOCOL.md, "Identity"); what
 * is enforced is the descendant rule (a leaf speaks only for itself, no one speaks for a direct
 * child) and every value check. Honest ZeroMQ clients keep exchanging changes.
 */
import { encodeMessage, Endpoint, HelloCodec, Kind, newEndpointId, OpenCodec, RefusalCodec, type DocId, type EndpointId, type MessageInit } from '@zinc/core'
import { Push, Subscriber } from 'zeromq'
import { afterEach, describe, expect, it } from 'vitest'
import { waitFor } from '../helpers.js'
import { Resources } from '../zmq-helpers.js'
import { decodeMessage } from '@zinc/core'
import { honestChangeArrives } from './edge.js'

type Shapes = Record<string, unknown>

let res = new Resources()
afterEach(async () => {
  await res.close()
  res = new Resources()
})

/** A hostile process: a raw PUSH to the root's inbound and a SUB on its outbound. */
class ZmqRaw {
  readonly refusals: Array<{ kind: number; doc: string; code: string; reason: string }> = []
  readonly id = newEndpointId()
  readonly push = new Push({ linger: 0 })
  readonly sub = new Subscriber({ linger: 0 })
  private seq = 0

  constructor(addresses: { inbound: string; outbound: string }) {
    this.push.connect(addresses.inbound)
    this.sub.connect(addresses.outbound)
    this.sub.subscribe(`e/${this.id}`)
    void this.read()
  }

  private async read(): Promise<void> {
    try {
      for await (const [, body] of this.sub) {
        const m = decodeMessage(body!, Infinity)
        if (m.kind === Kind.REFUSE || m.kind === Kind.REJECT) this.refusals.push({ kind: m.kind, doc: m.doc, ...RefusalCodec.decode(m.payload) })
        if (m.kind === Kind.WELCOME) this.welcomed = true
      }
    } catch {
      // Closed.
    }
  }

  welcomed = false

  async send(init: Partial<MessageInit> & { kind: Kind }): Promise<void> {
    await this.push.send(encodeMessage({ origin: this.id, epoch: 1, ...init }))
  }

  async hello(addresses?: { inbound: string; outbound: string }): Promise<void> {
    await this.send({ kind: Kind.HELLO, payload: HelloCodec.encode({ token: '', inbound: addresses?.inbound ?? '', outbound: addresses?.outbound ?? '', priority: 0, docs: [], ancestry: [] }) })
  }

  async open(doc: string, initial?: string): Promise<void> {
    const bytes = initial === undefined ? new Uint8Array(0) : new TextEncoder().encode(initial)
    await this.send({ kind: Kind.OPEN, doc: doc as DocId, payload: OpenCodec.encode({ hasInitial: initial !== undefined, initial: bytes, lastEpoch: 0 }) })
  }

  async change(doc: string, json: string, init: Partial<MessageInit> = {}): Promise<void> {
    await this.send({ kind: Kind.FRAGMENT, doc: doc as DocId, clientSeq: ++this.seq, payload: new TextEncoder().encode(json), ...init })
  }

  close(): void {
    this.push.close()
    this.sub.close()
  }
}

async function setup() {
  const root = await res.endpoint({ peerTimeoutMs: 10_000 })
  const alice = await res.endpoint({ join: root.addresses })
  const bob = await res.endpoint({ join: root.addresses })
  const a = await alice.open<Shapes>('board', { initial: { list: [1, 2, 3] } })
  const b = await bob.open<Shapes>('board')
  const raw = new ZmqRaw(root.addresses)
  res.add(() => raw.close())
  // Joined as a leaf (no addresses): it may speak only for itself.
  await waitFor(
    async () => {
      if (!raw.welcomed) await raw.hello()
      return raw.welcomed
    },
    'the raw process to be welcomed',
    15_000,
  )
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
