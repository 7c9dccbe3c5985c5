import { newEndpointId, silentLogger, type CoordinatedMember, type EndpointId, type Leader } from '@zinc/core'
import { afterEach, describe, expect, it } from 'vitest'
import { connectEtcd } from '../src/connect.js'
import { EtcdCoordinator } from '../src/etcd-coordinator.js'
import { etcdFixture, waitFor } from './etcd-server.js'

/**
 * Which leader handed over, as one shard's election on a real etcd sees it. The members are
 * recorders of what the coordinator tells them (the endpoint's side is tested in shards.test.ts):
 * what matters here is the `handover` a new leader is told, since its recovery waits for that
 * leader's documents, and a missed handover lets it answer opens of documents it never received.
 */

const etcdServer = etcdFixture()
const cleanups: Array<() => Promise<unknown> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

class Recorder implements CoordinatedMember {
  readonly id: EndpointId = newEndpointId()
  readonly addresses = { inbound: `inproc://${this.id}-in`, outbound: `inproc://${this.id}-out` }
  readonly logger = silentLogger
  readonly led: Array<{ epoch: number; handover?: EndpointId }> = []
  readonly followed: EndpointId[] = []
  lead(epoch: number, handover?: Leader): void {
    this.led.push({ epoch, ...(handover ? { handover: handover.id } : {}) })
  }
  follow(leader: Leader): void {
    this.followed.push(leader.id)
  }
  lapsed(): void {}
}

/**
 * Two candidates of one shard election on a fresh prefix, sharing one client, both hosts alive;
 * each stands while its `stands` says so. a is started and leads; b is not started yet.
 */
async function twoCandidates(name: string, stands: { a: boolean; b: boolean }) {
  const client = await connectEtcd([etcdServer.server.endpoint], 3000)
  cleanups.push(() => client.close())
  const prefix = `zinc-handover-${name}-${process.pid}/`
  const options = { endpoints: [etcdServer.server.endpoint], prefix, leaseTtlMs: 2000 }
  const a = new EtcdCoordinator(options, { client, stand: () => stands.a, host: 'host-a', alive: () => true })
  const b = new EtcdCoordinator(options, { client, stand: () => stands.b, host: 'host-b', alive: () => true })
  cleanups.push(
    () => a.close(),
    () => b.close(),
  )
  const ra = new Recorder()
  const rb = new Recorder()
  await a.start(ra)
  await waitFor(() => ra.led.length === 1, 'a leads')
  return { client, prefix, a, b, ra, rb }
}

describe('a shard election on etcd names the leader that handed over', () => {
  it('to the new leader, even when a key of its own stood between the two (its put read back early, or an attempt that failed)', async (ctx) => {
    if (etcdServer.skip(ctx)) return
    const stands = { a: true, b: false }
    const { client, prefix, a, b, ra, rb } = await twoCandidates('stray', stands)
    await b.start(rb)
    await waitFor(() => rb.followed.includes(ra.id), 'b follows a')
    // A key of b's own, below b's candidacy: what b reads while its own put is in flight.
    const stray = client.lease(2, { autoKeepAlive: false })
    const strayId = await stray.grant()
    await stray
      .put(`${prefix}leader/${rb.id}/${strayId}`)
      .value(JSON.stringify({ id: rb.id, ...rb.addresses, host: 'host-b' }))
      .exec()
    cleanups.push(() => stray.revoke().catch(() => {}))
    stands.b = true
    await b.restand()
    // a hands over: its key goes, and b's stray key is the lowest for a while.
    stands.a = false
    await a.restand()
    await new Promise((r) => setTimeout(r, 300))
    expect(rb.led).toEqual([])
    expect(rb.followed.filter((id) => id === rb.id)).toEqual([])
    await stray.revoke()
    await waitFor(() => rb.led.length === 1, 'b leads')
    expect(rb.led[0]!.handover).toBe(ra.id)
  })

  it('to a new leader that never saw the one before it (cut off from etcd while that one led, or elected as its key went): etcd keeps a record of who led last', async (ctx) => {
    if (etcdServer.skip(ctx)) return
    const stands = { a: true, b: true }
    const { a, b, ra, rb } = await twoCandidates('unseen', stands)
    // a hands over before b has read a single leader key: b's first candidacy leads at once.
    stands.a = false
    await a.restand()
    await b.start(rb)
    await waitFor(() => rb.led.length === 1, 'b leads')
    expect(rb.followed).toEqual([])
    expect(rb.led[0]!.handover).toBe(ra.id)
  })
})
