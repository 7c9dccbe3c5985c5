import { decodeMessage, encodeMessage, Endpoint, HeartbeatCodec, HelloCodec, Kind, newEndpointId, WelcomeCodec, type EndpointId } from '@zinc/core'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { afterEach, describe, expect, it } from 'vitest'
import { FAST, inprocCluster, waitFor } from './helpers.js'

/**
 * Bad input about the tree itself: forged or stale heartbeats, rosters and epochs, a join that
 * would make a loop, a heartbeat chain that shows one, a restarted process at a dead parent's
 * address, a restarted child under its old id. Each is refused with a counted reason
 * (`stats().refusals`), and none leaves the tree with zero or two roots.
 */
const open: Array<{ close(): Promise<void> }> = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()))
})

function keep<T extends { close(): Promise<void> }>(x: T): T {
  open.push(x)
  return x
}

/** An id's 16 bytes, as on the wire. */
const endpointIdToBytes = (id: string) =>
  Uint8Array.from(
    id
      .replace(/-/g, '')
      .match(/../g)!
      .map((h) => parseInt(h, 16)),
  )

const roots = (endpoints: Endpoint[]) => endpoints.filter((e) => !e.closed && e.role === 'host')

describe('forged and stale tree input', () => {
  it('heartbeats from the future or the past, strangers, rosters from a child, a hello from itself: counted, and the tree keeps its one root', async () => {
    const c = await inprocCluster(2)
    open.push(c)
    const { host, network } = c
    const attacker = keep(await new InprocTransport(network, { node: 'attacker' }).push(host.addresses.inbound))
    const child = c.clients[0]!.id
    const stranger = newEndpointId()
    const chain = (id: EndpointId) =>
      HeartbeatCodec.encode({ heads: [], rosterVersion: 0, ancestors: [{ id: endpointIdToBytes(id), inbound: 'inproc://nowhere-in', outbound: 'inproc://nowhere-out' }] })
    await attacker.send(encodeMessage({ kind: Kind.HEARTBEAT, origin: child, epoch: 99 }))
    await attacker.send(encodeMessage({ kind: Kind.HEARTBEAT, origin: child, epoch: 0 }))
    await attacker.send(encodeMessage({ kind: Kind.HEARTBEAT, origin: stranger, epoch: 99, payload: chain(stranger) }))
    await attacker.send(encodeMessage({ kind: Kind.ROSTER, origin: child, epoch: 1 }))
    await attacker.send(encodeMessage({ kind: Kind.HELLO, origin: host.id, epoch: 1, payload: HelloCodec.encode({ token: '', inbound: '', outbound: '', priority: 9, docs: [], ancestry: [] }) }))
    await waitFor(() => {
      const r = host.stats().refusals
      return (r['future-epoch'] ?? 0) >= 1 && (r['stale-epoch'] ?? 0) >= 1 && (r.loop ?? 0) >= 1
    }, 'each forgery refused under its reason')
    await waitFor(() => host.stats().dropped >= 3, 'the stranger and the roster dropped')
    // Well past a probe of the stranger's claimed address: nothing moved.
    const until = Date.now() + FAST.peerTimeoutMs * 4
    await waitFor(() => Date.now() > until, 'a while')
    expect(roots(c.all)).toEqual([host])
    expect(host.epoch).toBe(1)
    expect(host.stats().children).toBe(2)
    for (const e of c.all) expect(e.stats().promotions).toBe(0)
  })

  it('a parent whose heartbeat chain contains this endpoint is a loop: refused, and the smallest id breaks it', async () => {
    const network = new InprocNetwork({ seed: 41 })
    const t = new InprocTransport(network, { node: 'fake-parent' })
    const fake = { inbound: 'inproc://fake-in', outbound: 'inproc://fake-out' }
    const pull = keep(await t.pull(fake.inbound))
    const pub = keep(await t.pub(fake.outbound))
    // The fake parent's id sorts after the child's, so the child is the one to break the loop.
    const parentId = 'ffffffff-ffff-4fff-bfff-ffffffffffff' as EndpointId
    const childId = '00000000-0000-4000-8000-000000000001' as EndpointId
    const parentAddress = { id: endpointIdToBytes(parentId), inbound: fake.inbound, outbound: fake.outbound }
    const childAddress = { id: endpointIdToBytes(childId), inbound: 'inproc://child-in', outbound: 'inproc://child-out' }
    let hellos = 0
    const answering = (async () => {
      for await (const [body] of pull) {
        const m = decodeMessage(body!, 1 << 20)
        if (m.kind !== Kind.HELLO) continue
        // First a plain welcome; after that the loop shows in the chain of the welcome too.
        const ancestors = hellos++ === 0 ? [parentAddress] : [parentAddress, childAddress]
        const welcome = WelcomeCodec.encode({ ancestors, rosterVersion: 0 })
        await pub.send(`e/${m.origin}`, encodeMessage({ kind: Kind.WELCOME, origin: parentId, epoch: 1, payload: welcome }))
      }
    })()
    const child = keep(
      await Endpoint.start({ ...FAST, id: childId, transport: new InprocTransport(network, { node: 'child' }), bind: { inbound: 'inproc://child-in', outbound: 'inproc://child-out' }, join: fake }),
    )
    let lost = 0
    child.on('parent-lost', () => lost++)
    const looped = HeartbeatCodec.encode({
      heads: [],
      rosterVersion: 0,
      ancestors: [parentAddress, childAddress],
    })
    for (let i = 0; i < 3; i++) await pub.send('c', encodeMessage({ kind: Kind.HEARTBEAT, origin: parentId, epoch: 1, payload: looped }))
    await waitFor(() => (child.stats().refusals.loop ?? 0) >= 2 && lost === 1, 'the loop is refused and broken')
    // It found no other place: it is the root of its own tree now, not part of a loop.
    await waitFor(() => child.role === 'host', 'the breaker takes over')
    expect(child.epoch).toBe(2)
    expect(child.stats().refusals.loop).toBeGreaterThanOrEqual(3)
    void answering
  })

  it('a new process at the dead parent’s address does not keep it alive: the child fails over, and the trees merge into one', async () => {
    const network = new InprocNetwork({ seed: 43 })
    const bind = (name: string) => ({ inbound: `inproc://${name}-in`, outbound: `inproc://${name}-out` })
    const root = keep(await Endpoint.start({ ...FAST, transport: new InprocTransport(network, { node: 'g-root' }), bind: bind('g-root') }))
    const child = keep(await Endpoint.start({ ...FAST, transport: new InprocTransport(network, { node: 'g-child' }), bind: bind('g-child'), join: root.addresses }))
    const doc = await child.open<{ n: number[] }>('doc', { initial: { n: [] } })
    doc.change((s) => void s.n.push(1))
    await doc.synced()
    network.kill('g-root')
    // Restarted at once on the same addresses, with no memory (a new id): a fresh root.
    const ghost = keep(await Endpoint.start({ ...FAST, transport: new InprocTransport(network, { node: 'g-root-2' }), bind: bind('g-root') }))
    await waitFor(() => child.stats().promotions === 1, 'the child fails over (its parent is dead) and takes its place')
    expect((child.stats().refusals['forged-control'] ?? 0) + (child.stats().refusals['stale-candidate'] ?? 0)).toBeGreaterThan(0)
    await waitFor(() => roots([child, ghost]).length === 1, 'the fresh root joins the tree that outranks it', 30_000)
    expect(roots([child, ghost])).toEqual([child])
    expect(ghost.epoch).toBe(2)
    doc.change((s) => void s.n.push(2))
    await doc.synced()
    expect(doc.state.n).toEqual([1, 2])
  })

  it('a child restarted under its old id is recognised by its incarnation; its old state is dropped', async () => {
    const c = await inprocCluster(1)
    open.push(c)
    const { host, network } = c
    const id = newEndpointId()
    const first = await Endpoint.start({
      ...FAST,
      id,
      transport: new InprocTransport(network, { node: 'old-self' }),
      bind: { inbound: 'inproc://old-self-in', outbound: 'inproc://old-self-out' },
      join: host.addresses,
    })
    await first.open('doc', { initial: {} })
    await waitFor(() => host.stats().children === 2, 'joined')
    network.kill('old-self')
    const second = keep(
      await Endpoint.start({
        ...FAST,
        id,
        transport: new InprocTransport(network, { node: 'new-self' }),
        bind: { inbound: 'inproc://new-self-in', outbound: 'inproc://new-self-out' },
        join: host.addresses,
      }),
    )
    await waitFor(() => host.stats().refusals['restarted-child'] === 1, 'the restart is recognised')
    const doc = await second.open<{ n?: number }>('doc')
    doc.change((s) => void (s.n = 1))
    await doc.synced()
    expect(host.stats().children).toBe(2)
    expect(host.peers.find((p) => p.id === id)?.addresses?.inbound).toBe('inproc://new-self-in')
    await first.close()
  })
})
