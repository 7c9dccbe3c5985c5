/**
 * Values from one peer cannot stall, crash or split the tree: prototype keys, deep nesting,
 * array amplification and oversize documents are refused where they enter, by name, and
 * every other opener and change goes on. WebSocket edge, ZeroMQ root.
 */
import { Kind, MemoryStorage, type DocId } from '@zinc/core'
import { describe, expect, it } from 'vitest'
import { waitFor } from '../helpers.js'
import { boundEachTest, honestChangeArrives, RawPeer, rssMb, startEdge, STRESS, type Edge } from './edge.js'

type Shapes = Record<string, unknown>

let edge: Edge | undefined
const peers: RawPeer[] = []

// Stated bound for every probe in this file: the process grows by less than 120 MB (after GC).
boundEachTest(120, async () => {
  for (const p of peers.splice(0)) p.close()
  await edge?.close()
  edge = undefined
})

async function joinedRaw(e: Edge, doc?: string): Promise<RawPeer> {
  const peer = await RawPeer.connect(e.addresses)
  peers.push(peer)
  peer.hello()
  await waitFor(() => peer.welcomed(), 'the raw peer to be welcomed')
  if (doc) {
    peer.open(doc)
    await waitFor(() => peer.received.some((r) => r.message.kind === Kind.SNAPSHOT && r.message.doc === doc), 'the raw peer to get its snapshot')
  }
  return peer
}

function deep(levels: number, leaf = '1'): string {
  return '{"a":'.repeat(levels) + leaf + '}'.repeat(levels)
}

async function twoHonest(e: Edge, doc = 'board') {
  const alice = await e.client()
  const bob = await e.client()
  const a = await alice.open<Shapes>(doc, { initial: {} })
  const b = await bob.open<Shapes>(doc, { initial: {} })
  return { alice, bob, a, b }
}

describe('bad values are refused where they enter (WebSocket edge, ZeroMQ root)', () => {
  it('an OPEN with {"__proto__":{}} or 100,000 levels is refused by name; other opens are served meanwhile', async () => {
    edge = await startEdge()
    const { alice, a, b } = await twoHonest(edge)
    const attacker = await joinedRaw(edge)
    attacker.open('proto-doc', '{"__proto__":{}}')
    attacker.open('constructor-doc', '{"x":{"constructor":{"prototype":{}}}}')
    attacker.open('deep-doc', deep(100_000))
    await waitFor(() => attacker.refusals().length >= 3, 'three refusals')
    const byDoc = new Map(attacker.refusals().map((r) => [r.doc, r]))
    expect(byDoc.get('proto-doc')).toMatchObject({ kind: 'REFUSE', code: 'ERR_BAD_VALUE' })
    expect(byDoc.get('proto-doc')!.reason).toMatch(/__proto__/)
    expect(byDoc.get('constructor-doc')!.code).toBe('ERR_BAD_VALUE')
    expect(byDoc.get('deep-doc')!.reason).toMatch(/deeper than 512/)
    // The attacker stays connected; new opens (a new document, and the same one) are served.
    const c = await alice.open<Shapes>('fresh-doc', { initial: { ok: true } })
    expect(c.state.ok).toBe(true)
    await honestChangeArrives(a, b, 'after-bad-opens')
    expect(edge.relay.stats().refusedByCode.ERR_BAD_VALUE).toBeGreaterThanOrEqual(3)
    expect(edge.relay.stats().handlerErrors).toBe(0)
    expect(edge.root.stats().handlerErrors).toBe(0)
  })

  it('presence nested 100,000 levels is dropped at the edge; the document stays openable and presence works', async () => {
    edge = await startEdge()
    const { alice, a, b } = await twoHonest(edge)
    const attacker = await joinedRaw(edge, 'board')
    const levels = STRESS ? 100_000 : 100_000
    attacker.send({ kind: Kind.PRESENCE, doc: 'board' as DocId, payload: new TextEncoder().encode(deep(levels)) })
    await waitFor(() => (edge!.relay.stats().refusedByCode.ERR_BAD_VALUE ?? 0) >= 1, 'the deep presence to be refused')
    // A newcomer can open the document (its snapshot carries presence), and presence flows.
    const carol = await edge.client()
    const c = await carol.open<Shapes>('board')
    a.presence.set({ cursor: [3, 4] })
    await waitFor(() => c.presence.get().has(alice.id), 'Alice’s cursor at the newcomer')
    expect(c.presence.get().has(attacker.id)).toBe(false)
    await honestChangeArrives(b, c, 'after-deep-presence')
    expect(edge.root.stats().handlerErrors).toBe(0)
    expect(edge.relay.stats().handlerErrors).toBe(0)
  })

  it('a 60-byte patch setting an array’s length to 10,000,000 (or writing index 10,000,000) is rejected; the document stays small', async () => {
    edge = await startEdge()
    const alice = await edge.client()
    const bob = await edge.client()
    const a = await alice.open<Shapes>('list', { initial: { list: [1, 2, 3] } })
    const b = await bob.open<Shapes>('list', { initial: {} })
    const attacker = await joinedRaw(edge, 'list')
    const rssBefore = rssMb()
    const s1 = attacker.change('list', '[{"op":"replace","path":["list","length"],"value":10000000}]')
    const s2 = attacker.change('list', '[{"op":"replace","path":["list",10000000],"value":1}]')
    const s3 = attacker.change('list', '[{"op":"add","path":["made"],"value":[]},{"op":"replace","path":["made",9999999],"value":1}]')
    await waitFor(() => attacker.refusals().filter((r) => r.kind === 'REJECT').length >= 3, 'three rejections')
    const rejected = attacker.refusals().filter((r) => r.kind === 'REJECT')
    expect(rejected.map((r) => r.reason).join('\n')).toMatch(/length/)
    expect(rejected.every((r) => r.reason.includes('ERR_BAD_VALUE'))).toBe(true)
    expect([s1, s2, s3]).toEqual([1, 2, 3])
    // Its next honest change is not held behind the refused ones: it is sequenced.
    attacker.change('list', '[{"op":"add","path":["fine"],"value":true}]')
    await waitFor(() => a.state.fine === true, 'the attacker’s next, valid change to be sequenced')
    await honestChangeArrives(a, b, 'after-amplification')
    expect((a.state.list as unknown[]).length).toBe(3)
    expect(JSON.stringify(edge.root.stats().docs)).toBeDefined()
    // Stated bound: nothing near the 50 MB the patch asked for.
    expect(rssMb() - rssBefore).toBeLessThan(40)
  })

  it('a document past maxDocumentBytes is refused with ERR_DOCUMENT_TOO_LARGE; smaller changes go on', async () => {
    edge = await startEdge({ root: { maxDocumentBytes: 200_000 } })
    const { a, b } = await twoHonest(edge)
    const big = 'x'.repeat(60_000)
    const results = await Promise.allSettled(
      [0, 1, 2, 3, 4].map(
        (i) =>
          a.change((d) => {
            d[`big${i}`] = big
          }).confirmed,
      ),
    )
    const refused = results.filter((r) => r.status === 'rejected')
    expect(refused.length).toBeGreaterThanOrEqual(2)
    expect(String((refused[0] as PromiseRejectedResult).reason)).toMatch(/maxDocumentBytes/)
    await honestChangeArrives(b, a, 'after-too-large')
    expect(edge.root.stats().refusedByCode.ERR_DOCUMENT_TOO_LARGE).toBeGreaterThanOrEqual(2)
  })

  it('a document whose stored copy cannot be restored answers its openers with ERR_STORAGE_CORRUPT; other documents open', async () => {
    const storage = new MemoryStorage()
    const load = storage.load.bind(storage)
    storage.load = async (doc: DocId) => {
      if (doc === 'broken') throw Object.assign(new Error('checksum mismatch in record 7'), { code: 'ERR_STORAGE_CORRUPT' })
      return load(doc)
    }
    edge = await startEdge({ root: { storage } })
    const { alice, a, b } = await twoHonest(edge)
    await expect(alice.open('broken', { initial: {} })).rejects.toThrow(/broken[\s\S]*checksum mismatch/)
    const again = await Promise.allSettled([alice.open('broken'), alice.open('fine-doc', { initial: { ok: 1 } })])
    expect(again[0].status).toBe('rejected')
    expect((again[0] as PromiseRejectedResult).reason.code).toBe('ERR_STORAGE_CORRUPT')
    expect(again[1].status).toBe('fulfilled')
    await honestChangeArrives(a, b, 'after-corrupt')
  })
})

describe('answers that cannot be sent are refusals, not silence', () => {
  it('a relay whose snapshot of a document exceeds its maxMessageBytes refuses that open with ERR_TOO_LARGE; other opens are served', async () => {
    // The edge speaks 1 MB messages; the root allows documents up to 8 MB.
    edge = await startEdge({ ws: { maxMessageBytes: 1024 * 1024 }, relay: { maxMessageBytes: 1024 * 1024 } })
    const alice = await edge.client()
    const bob = await edge.client()
    const a = await alice.open<Shapes>('grown', { initial: {} })
    for (let i = 0; i < 3; i++) {
      await a.change((d) => {
        d[`part${i}`] = String(i).repeat(600_000)
      }).confirmed
    }
    const carol = await edge.client()
    await expect(carol.open('grown')).rejects.toMatchObject({ code: 'ERR_TOO_LARGE', message: expect.stringMatching(/grown[\s\S]*maxMessageBytes/) })
    const small = await carol.open<Shapes>('small', { initial: { ok: true } })
    expect(small.state.ok).toBe(true)
    const b = await bob.open<Shapes>('small')
    await honestChangeArrives(small, b, 'after-too-large')
    expect(edge.relay.stats().refusedByCode.ERR_TOO_LARGE).toBe(1)
    // Nothing but a dead parent starts a promotion: the refusal split nothing.
    for (const ep of [edge.root, edge.relay, alice, bob, carol]) expect(ep.stats().promotions).toBe(0)
    expect(edge.relay.stats().epoch).toBe(edge.root.stats().epoch)
  })
})
