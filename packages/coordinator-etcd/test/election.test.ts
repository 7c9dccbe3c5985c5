import { encodeMessage, Endpoint, HeartbeatCodec, Kind, newEndpointId, type Document } from '@zinc/core'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { afterEach, describe, expect, it } from 'vitest'
import { etcd, EtcdUnreachableError } from '../src/index.js'
import { EtcdLink, etcdFixture, freePort, waitFor } from './etcd-server.js'

/**
 * Root election on a real etcd (started here on random ports, a temporary data directory),
 * members on the in-process network, each reaching etcd through its own cuttable link. Without
 * etcd (and no way to install it) every test is skipped, saying how to get it.
 */

type Shared = { log: string[] }
const FAST = { heartbeatMs: 30, peerTimeoutMs: 400, resendMs: 150, joinTimeoutMs: 15_000 } as const
/** etcd's smallest lease for a default member (1.5 election timeouts, whole seconds). */
const TTL_MS = 2000

const etcdServer = etcdFixture()
let prefixes = 0
const cleanups: Array<() => Promise<unknown>> = []

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {})
})

interface Member {
  name: string
  endpoint: Endpoint
  link: EtcdLink
  doc: Document<Shared>
  made: string[]
}

/** `n` coordinated members on one in-process network, one election (a fresh prefix per test). */
async function members(n: number): Promise<{ network: InprocNetwork; all: Member[] }> {
  const network = new InprocNetwork({ seed: 11 })
  const prefix = `zinc-test-${process.pid}-${++prefixes}/`
  const all: Member[] = []
  for (let i = 0; i < n; i++) {
    const name = `m${i}`
    const link = await EtcdLink.to(etcdServer.server)
    cleanups.push(() => link.close())
    const endpoint = await Endpoint.start({
      ...FAST,
      transport: new InprocTransport(network, { node: name }),
      bind: { inbound: network.uniqueAddress(`${name}-in`), outbound: network.uniqueAddress(`${name}-out`) },
      coordinator: etcd({ endpoints: [link.endpoint], prefix, leaseTtlMs: TTL_MS }),
    })
    cleanups.push(() => endpoint.close())
    all.push({ name, endpoint, link, doc: undefined as unknown as Document<Shared>, made: [] })
  }
  for (const m of all) m.doc = await m.endpoint.open<Shared>('doc', { initial: { log: [] } })
  return { network, all }
}

function write(ms: Member[], from: number, count: number): void {
  for (let step = from; step < from + count; step++) {
    const m = ms[step % ms.length]!
    const token = `${m.name}:${step}`
    m.doc.change((s) => {
      s.log.push(token)
    })
    m.made.push(token)
  }
}

const hosts = (ms: Member[]) => ms.filter((m) => m.endpoint.role === 'host')

/** Every survivor holds the same log, and every change any of them made is in it exactly once. */
async function settled(ms: Member[], label: string): Promise<void> {
  await waitFor(() => hosts(ms).length === 1, `${label}: one root`)
  await waitFor(() => ms.every((m) => m.doc.pendingCount === 0 && m.doc.seq === ms[0]!.doc.seq && JSON.stringify(m.doc.state) === JSON.stringify(ms[0]!.doc.state)), `${label}: members converge`)
  const log = ms[0]!.doc.state.log
  for (const m of ms)
    for (const token of m.made)
      expect(
        log.filter((t) => t === token),
        `${label}: ${token} exactly once`,
      ).toHaveLength(1)
}

describe('etcd coordinator', () => {
  it('an unreachable etcd at start is a clear error naming the endpoint', async () => {
    const port = await freePort()
    const network = new InprocNetwork()
    const start = Endpoint.start({
      transport: new InprocTransport(network),
      bind: { inbound: 'inproc://lonely-in', outbound: 'inproc://lonely-out' },
      coordinator: etcd({ endpoints: [`127.0.0.1:${port}`], dialTimeoutMs: 1000 }),
    })
    const error = await start.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(EtcdUnreachableError)
    expect((error as Error).message).toContain(`127.0.0.1:${port}`)
  })

  it('elects one root at an etcd-issued epoch; the others follow it; a clean close hands over at once', async (ctx) => {
    if (etcdServer.skip(ctx)) return
    const { all } = await members(3)
    await waitFor(() => hosts(all).length === 1 && all.every((m) => m.endpoint.role !== 'host' || m === hosts(all)[0]), 'one root')
    const [root] = hosts(all)
    expect(root).toBe(all[0]) // the first candidate's key has the lowest revision
    const epoch = root!.endpoint.epoch
    expect(epoch).toBeGreaterThan(1)
    await waitFor(() => all.every((m) => m.endpoint.epoch === epoch), 'every member at the root epoch')
    write(all, 0, 30)
    await settled(all, 'first root')

    const rest = all.slice(1)
    await root!.endpoint.close()
    write(rest, 30, 20)
    await settled(rest, 'after the root resigned')
    const next = hosts(rest)[0]!
    expect(next.endpoint.epoch).toBeGreaterThan(epoch)
    expect(rest.every((m) => m.endpoint.epoch === next.endpoint.epoch)).toBe(true)
  })

  it('a root cut off from etcd stops acknowledging within its lease, steps down, and rejoins; nothing acknowledged is lost', async (ctx) => {
    if (etcdServer.skip(ctx)) return
    const { all } = await members(3)
    await waitFor(() => hosts(all).length === 1, 'one root')
    const old = hosts(all)[0]!
    const epoch = old.endpoint.epoch
    write(all, 0, 30)
    await settled(all, 'before the cut')

    // The root still reaches its children, but not etcd: the split-brain case.
    const cutAt = Date.now()
    old.link.cut()
    let sequencedAtLeaseEnd: number | undefined
    const sample = setTimeout(() => (sequencedAtLeaseEnd = old.endpoint.stats().sequenced), TTL_MS)
    cleanups.push(async () => clearTimeout(sample))
    // Children keep writing (some through the old root) the whole time.
    let step = 30
    const writer = setInterval(() => write(all, step, 3) || (step += 3), 50)
    cleanups.push(async () => clearInterval(writer))
    // (The cut-off root stays in limbo, still showing its last role, until it reaches etcd again.)
    await waitFor(() => hosts(all).some((m) => m !== old && m.endpoint.epoch > epoch), 'another member elected')
    await waitFor(() => sequencedAtLeaseEnd !== undefined, 'the lease of the cut root is over')
    clearInterval(writer)
    expect(old.endpoint.stats().leaseLapses).toBeGreaterThanOrEqual(1)
    // Not one change sequenced by the old root once its lease could have ended.
    const oldSequenced = old.endpoint.stats().sequenced
    old.link.heal()
    await settled(all, 'after the old root rejoined')
    expect(old.endpoint.stats().sequenced).toBe(oldSequenced)
    expect(sequencedAtLeaseEnd).toBe(oldSequenced)
    expect(old.endpoint.role).not.toBe('host')
    console.log(`[etcd] a root cut off from etcd replaced and back as a member after ${Date.now() - cutAt} ms (lease ${TTL_MS} ms)`)
    expect(all.every((m) => m.endpoint.epoch === hosts(all)[0]!.endpoint.epoch)).toBe(true)
  })

  it('a root that dies (network gone, lease left to expire) is replaced within the lease; survivors lose nothing', async (ctx) => {
    if (etcdServer.skip(ctx)) return
    const { network, all } = await members(3)
    await waitFor(() => hosts(all).length === 1, 'one root')
    const old = hosts(all)[0]!
    const epoch = old.endpoint.epoch
    const rest = all.filter((m) => m !== old)
    write(all, 0, 30)
    await settled(all, 'before the death')
    network.kill(old.name)
    old.link.cut()
    const diedAt = Date.now()
    write(rest, 30, 20)
    await settled(rest, 'after the death')
    const next = hosts(rest)[0]!
    expect(next.endpoint.epoch).toBeGreaterThan(epoch)
    console.log(`[etcd] failover after a root death: ${Date.now() - diedAt} ms (lease ${TTL_MS} ms)`)
  })

  it('etcd down: the root stops acknowledging within its lease, nothing is lost, and sequencing resumes when etcd returns', async (ctx) => {
    if (etcdServer.skip(ctx)) return
    const { all } = await members(2)
    await waitFor(() => hosts(all).length === 1, 'one root')
    write(all, 0, 10)
    await settled(all, 'before the outage')
    const server = etcdServer.server
    await server.kill()
    cleanups.push(() => server.run()) // whatever happens below, the next test has its etcd
    // Past the lease (and its margin) nobody may confirm anything.
    await new Promise((r) => setTimeout(r, TTL_MS + 500))
    write(all, 10, 10)
    await new Promise((r) => setTimeout(r, 1000))
    expect(all.map((m) => m.doc.pendingCount).reduce((a, b) => a + b)).toBe(10)
    const seqs = all.map((m) => m.doc.seq)
    await server.run()
    cleanups.pop()
    await settled(all, 'after etcd returned')
    expect(all[0]!.doc.seq).toBeGreaterThan(Math.max(...seqs))
  })

  it('refuses a leadership claim at an epoch etcd did not issue', async (ctx) => {
    if (etcdServer.skip(ctx)) return
    const { network, all } = await members(2)
    await waitFor(() => hosts(all).length === 1, 'one root')
    const root = hosts(all)[0]!
    const epoch = root.endpoint.epoch
    // A stranger tells the root, on its inbound, that it leads a tree at a far higher epoch.
    const transport = new InprocTransport(network, { node: 'forger' })
    const pub = await transport.pub(network.uniqueAddress('forger-out'), {})
    const push = await transport.push(root.endpoint.addresses.inbound, {})
    cleanups.push(
      () => push.close(),
      () => pub.close(),
    )
    const forger = newEndpointId()
    const id = Uint8Array.from(Buffer.from(forger.replaceAll('-', ''), 'hex'))
    const payload = HeartbeatCodec.encode({ heads: [], rosterVersion: 0, ancestors: [{ id, inbound: 'inproc://forger-in', outbound: pub.address }] })
    const before = root.endpoint.stats().refusals['unissued-epoch'] ?? 0
    for (let i = 0; i < 5; i++) await push.send(encodeMessage({ kind: Kind.HEARTBEAT, origin: forger, epoch: epoch + 1000, payload }))
    await waitFor(() => (root.endpoint.stats().refusals['unissued-epoch'] ?? 0) > before, 'the forged claim refused')
    expect(root.endpoint.role).toBe('host')
    expect(root.endpoint.epoch).toBe(epoch)
    write(all, 0, 10)
    await settled(all, 'after the forged claim')
  })
})
