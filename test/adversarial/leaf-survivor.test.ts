/**
 * A relay promoted to root recovers what its survivors hold: fragments, or a snapshot when their
 * log is short. A survivor that cannot be promoted — a page, or any client that binds nothing —
 * speaks for itself alone: its answer would put anyone's changes, or any state, into the
 * document. Here a raw leaf claims a head far ahead and answers the recovering root's catch-up
 * with a forged snapshot.
 */
import { decodeMessage, encodeMessage, Endpoint, endpointTopic, HelloCodec, Kind, newEndpointId, SnapshotCodec, type DocId, type Message } from '@zinc/core'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { afterEach, describe, expect, it } from 'vitest'
import { FAST, waitFor } from '../helpers.js'

const open: Array<{ close(): Promise<unknown> }> = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()))
})

async function endpoint(network: InprocNetwork, name: string, options: { bind?: boolean; join?: Endpoint['addresses'] }): Promise<Endpoint> {
  const e = await Endpoint.start({
    ...FAST,
    transport: new InprocTransport(network, { node: name }),
    ...(options.bind ? { bind: { inbound: network.uniqueAddress(`${name}-in`), outbound: network.uniqueAddress(`${name}-out`) } } : {}),
    ...(options.join ? { join: options.join } : {}),
  })
  open.push(e)
  return e
}

/** A leaf that is only its two channels: it joins `parent` claiming `doc` at `claimedSeq`, and answers every CATCH_UP with a forged snapshot. */
async function lyingLeaf(network: InprocNetwork, parent: Endpoint['addresses'], doc: DocId, claimedSeq: number) {
  const id = newEndpointId()
  const transport = new InprocTransport(network, { node: 'liar' })
  const push = await transport.push(parent.inbound)
  const sub = await transport.sub(parent.outbound)
  sub.subscribe(endpointTopic(id))
  const send = (init: Omit<Parameters<typeof encodeMessage>[0], 'origin' | 'sender'>) => void push.send(encodeMessage({ origin: id, sender: id, ...init }))
  const asked: Message[] = []
  void (async () => {
    for await (const frames of sub) {
      const m = decodeMessage(frames[1]!, 1 << 20)
      if (m.kind !== Kind.CATCH_UP) continue
      asked.push(m)
      const state = new TextEncoder().encode(JSON.stringify({ pwned: true }))
      send({ kind: Kind.SNAPSHOT, doc, seq: claimedSeq, epoch: m.epoch, payload: SnapshotCodec.encode({ state, clientSeqs: [], presence: [], history: 0 }) })
    }
  })()
  send({ kind: Kind.HELLO, epoch: 0, payload: HelloCodec.encode({ token: '', inbound: '', outbound: '', priority: 0, docs: [{ doc, seq: claimedSeq }], ancestry: [] }) })
  // Alive as far as its parent can tell: any frame counts.
  const beat = setInterval(() => send({ kind: Kind.HEARTBEAT, epoch: 0 }), FAST.heartbeatMs)
  open.push({ close: async () => (clearInterval(beat), await Promise.all([push.close(), sub.close()])) })
  return { id, asked }
}

describe('a recovering root takes history only from survivors that can be promoted', () => {
  it('a leaf claiming a head far ahead, answering with a forged snapshot, changes nothing; the honest client keeps its change', async () => {
    const network = new InprocNetwork({ seed: 31 })
    const root = await endpoint(network, 'root', { bind: true })
    const relay = await endpoint(network, 'relay', { bind: true, join: root.addresses })
    const client = await endpoint(network, 'client', { join: relay.addresses })
    const doc = await client.open<{ honest?: number; pwned?: boolean }>('doc', { initial: {} })
    doc.change((d) => void (d.honest = 1))
    await doc.synced()
    const liar = await lyingLeaf(network, relay.addresses!, 'doc' as DocId, 500)
    await waitFor(() => relay.stats().children >= 2, 'the liar joined the relay')
    network.kill('root')
    await waitFor(() => relay.role === 'host', 'the relay promoted')
    doc.change((d) => void (d.honest = 2))
    await doc.synced({ timeoutMs: 20_000 })
    expect(doc.state).toEqual({ honest: 2 })
    // Not even asked: a leaf's head is no reason to wait or fetch.
    expect(liar.asked).toEqual([])
  })
})
