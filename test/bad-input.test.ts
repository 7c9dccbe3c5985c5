import { encodeMessage, Endpoint, Kind, newEndpointId, type DocId } from '@zinc/core'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { afterEach, describe, expect, it } from 'vitest'
import { FAST, inprocCluster, waitFor, type InprocCluster } from './helpers.js'

let cluster: InprocCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

const enc = new TextEncoder()

describe('bad input reaching an endpoint', () => {
  it('counts and drops malformed frames and keeps serving real clients', async () => {
    cluster = await inprocCluster(1, { maxMessageBytes: 64 * 1024 })
    const { host, clients, network } = cluster
    const hostDoc = await host.open<{ n: number }>('doc', { initial: { n: 0 } })
    const clientDoc = await clients[0]!.open<{ n: number }>('doc')
    const attacker = await new InprocTransport(network, { node: 'attacker' }).push(host.addresses.inbound)
    const valid = encodeMessage({ kind: Kind.HEARTBEAT, origin: newEndpointId(), epoch: 1 })
    const frames: Uint8Array[] = [
      new Uint8Array(0),
      Uint8Array.from({ length: 200 }, (_, i) => (i * 37) & 0xff),
      valid.subarray(0, valid.length - 3),
      new Uint8Array(128 * 1024), // over maxMessageBytes
      enc.encode('{"kind":"FRAGMENT"}'),
    ]
    for (const f of frames) await attacker.send(f)
    // The oversize frame is dropped by the transport itself (its maxMessageBytes), the rest by the endpoint.
    await waitFor(() => host.stats().badFrames === frames.length - 1, 'every bad frame counted')
    await waitFor(() => network.stats().droppedTooLarge === 1, 'the oversize frame dropped by the transport')
    clientDoc.change((s) => void (s.n = 1))
    await clientDoc.synced()
    await waitFor(() => hostDoc.state.n === 1, 'the real client still syncs')
    await attacker.close()
  })

  it('refuses well-formed nonsense: strangers, unknown documents, patches that do not resolve', async () => {
    cluster = await inprocCluster(1)
    const { host, clients, network } = cluster
    const hostDoc = await host.open<{ shapes: Record<string, { x: number }> }>('doc', { initial: { shapes: {} } })
    const clientDoc = await clients[0]!.open<{ shapes: Record<string, { x: number }> }>('doc')
    const attacker = await new InprocTransport(network, { node: 'attacker' }).push(host.addresses.inbound)
    const stranger = newEndpointId()
    const badPatch = enc.encode(JSON.stringify([{ op: 'replace', path: ['shapes', 'missing', 'x'], value: 1 }]))
    // A stranger that never joined.
    await attacker.send(encodeMessage({ kind: Kind.FRAGMENT, origin: stranger, doc: 'doc' as DocId, clientSeq: 1, epoch: 1, payload: badPatch }))
    // A real child's identity, but a document it never opened, and a forged already-sequenced fragment.
    const child = clients[0]!.id
    await attacker.send(encodeMessage({ kind: Kind.FRAGMENT, origin: child, doc: 'other' as DocId, clientSeq: 1, epoch: 1, payload: badPatch }))
    await attacker.send(encodeMessage({ kind: Kind.FRAGMENT, origin: child, doc: 'doc' as DocId, clientSeq: 99, seq: 5, epoch: 1, payload: badPatch }))
    // A prototype-polluting path, from a child's identity but far ahead of its real changes.
    const proto = enc.encode(JSON.stringify([{ op: 'add', path: ['__proto__', 'polluted'], value: true }]))
    await attacker.send(encodeMessage({ kind: Kind.FRAGMENT, origin: child, doc: 'doc' as DocId, clientSeq: 40, epoch: 1, payload: proto }))
    await waitFor(() => {
      const s = host.stats()
      return s.dropped + s.rejected + s.badFrames >= 4
    }, 'nonsense refused')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(hostDoc.state).toEqual({ shapes: {} })
    clientDoc.change((s) => void (s.shapes.ok = { x: 1 }))
    await clientDoc.synced()
    expect(hostDoc.state).toEqual({ shapes: { ok: { x: 1 } } })
    await attacker.close()
  })

  it('a join to an address where no Zinc endpoint answers fails with a clear error', async () => {
    const network = new InprocNetwork()
    const t = new InprocTransport(network)
    const pull = await t.pull('inproc://not-zinc-in')
    const pub = await t.pub('inproc://not-zinc-out')
    await expect(Endpoint.start({ ...FAST, joinTimeoutMs: 500, transport: new InprocTransport(network), join: { inbound: pull.address, outbound: pub.address } })).rejects.toThrow(
      /No Zinc endpoint answered the join at inproc:\/\/not-zinc-in/,
    )
    await expect(Endpoint.start({ ...FAST, transport: new InprocTransport(network), join: { inbound: 'inproc://nothing-in', outbound: 'inproc://nothing-out' } })).rejects.toThrow(
      /nothing is bound there/,
    )
    await pull.close()
    await pub.close()
  })

  it('refuses an oversize change before applying it', async () => {
    cluster = await inprocCluster(1, { maxMessageBytes: 32 * 1024 })
    const doc = await cluster.clients[0]!.open<{ blob?: string }>('doc')
    expect(() => doc.change((s) => void (s.blob = 'x'.repeat(64 * 1024)))).toThrow(/exceeds maxMessageBytes/)
    expect(doc.state.blob).toBeUndefined()
    expect(doc.pendingCount).toBe(0)
  })
})

describe('late joiners', () => {
  it('a late joiner of a 10,000-key document gets the whole state and then live changes', async () => {
    cluster = await inprocCluster(1)
    const { host, network } = cluster
    const initial: { keys: Record<string, number> } = { keys: {} }
    for (let i = 0; i < 10_000; i++) initial.keys[`k${i}`] = i
    const hostDoc = await host.open<typeof initial>('wide', { initial })
    const writer = await cluster.clients[0]!.open<typeof initial>('wide')
    for (let i = 0; i < 50; i++) writer.change((s) => void (s.keys[`k${i}`] = -i))
    const late = await Endpoint.start({ ...FAST, transport: new InprocTransport(network, { node: 'late' }), join: host.addresses })
    try {
      const lateDoc = await late.open<typeof initial>('wide')
      writer.change((s) => void (s.keys.after = 1))
      await writer.synced()
      await waitFor(() => lateDoc.state.keys.after === 1 && lateDoc.seq === hostDoc.seq, 'late joiner caught up')
      expect(Object.keys(lateDoc.state.keys)).toHaveLength(10_001)
      expect(lateDoc.state).toEqual(hostDoc.state)
    } finally {
      await late.close()
    }
  })
})

describe('a runaway child', () => {
  it("is throttled by its parent's childRateLimit; it loses nothing and others are unaffected", async () => {
    cluster = await inprocCluster(2, { childRateLimit: { perSecond: 400, burst: 20 } })
    const [runaway, other] = cluster.clients
    const hostDoc = await cluster.host.open<{ log: string[]; other: number }>('doc', { initial: { log: [], other: 0 } })
    const fast = await runaway!.open<{ log: string[]; other: number }>('doc')
    const calm = await other!.open<{ log: string[]; other: number }>('doc')
    const errors: Error[] = []
    runaway!.on('error', (e) => errors.push(e))
    for (let i = 0; i < 300; i++) fast.change((s) => void s.log.push(`r${i}`))
    calm.change((s) => void (s.other = 1))
    await calm.synced()
    expect(hostDoc.state.other).toBe(1)
    await fast.synced({ timeoutMs: 30_000 })
    expect(cluster.host.stats().throttled).toBeGreaterThan(0)
    await waitFor(() => errors.some((e) => e.name === 'RateLimitedError'), 'the runaway is told it is throttled')
    expect(new Set(hostDoc.state.log).size).toBe(300)
    expect(hostDoc.state.log).toHaveLength(300)
  })
})

describe('forged control messages', () => {
  it('a heartbeat, roster or welcome from the future, pushed at the root, changes nothing', async () => {
    cluster = await inprocCluster(1)
    const { host, network } = cluster
    const attacker = await new InprocTransport(network, { node: 'attacker' }).push(host.addresses.inbound)
    const forger = newEndpointId()
    for (const kind of [Kind.HEARTBEAT, Kind.ROSTER, Kind.WELCOME, Kind.SNAPSHOT]) {
      await attacker.send(encodeMessage({ kind, origin: forger, epoch: 99, ...(kind === Kind.SNAPSHOT ? { doc: 'doc' as DocId } : {}) }))
    }
    // From a real child's identity too: an epoch from the future is dropped.
    await attacker.send(encodeMessage({ kind: Kind.HEARTBEAT, origin: cluster.clients[0]!.id, epoch: 99 }))
    await waitFor(() => host.stats().dropped >= 5, 'every forged message dropped')
    expect(host.role).toBe('host')
    expect(host.epoch).toBe(1)
    expect(cluster.clients[0]!.role).toBe('client')
    await attacker.close()
  })
})
