import { Endpoint, type Document } from '@zinc/core'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { afterAll, describe, expect, it } from 'vitest'
import { etcd } from '../src/index.js'
import { EtcdServer, etcdFixture, waitFor } from './etcd-server.js'

/**
 * A three-member etcd cluster loses one member (SIGKILL): Zinc keeps sequencing. The lease is
 * long (8 s) against etcd's own re-election when the killed member was its leader (1–2 s, more
 * on a loaded machine): renewals fail meanwhile, and with a 3 s lease the root could lapse and
 * step down, which is correct behaviour but not what this test is about.
 */

const etcdCluster = etcdFixture((bin) => EtcdServer.cluster(bin, 3))
const endpoints: Endpoint[] = []

afterAll(async () => {
  await Promise.all(endpoints.map((e) => e.close()))
})

describe('a three-member etcd cluster', () => {
  it('loses a member; the root keeps sequencing, nothing is lost', async (ctx) => {
    if (etcdCluster.skip(ctx)) return
    const cluster = etcdCluster.servers
    const network = new InprocNetwork({ seed: 5 })
    const docs: Array<Document<{ log: string[] }>> = []
    for (let i = 0; i < 2; i++) {
      const endpoint = await Endpoint.start({
        heartbeatMs: 30,
        peerTimeoutMs: 400,
        joinTimeoutMs: 15_000,
        transport: new InprocTransport(network, { node: `m${i}` }),
        bind: { inbound: network.uniqueAddress(`m${i}-in`), outbound: network.uniqueAddress(`m${i}-out`) },
        coordinator: etcd({ endpoints: cluster.map((m) => m.endpoint), prefix: `zinc-cluster-${process.pid}/`, leaseTtlMs: 8000 }),
      })
      endpoints.push(endpoint)
      docs.push(await endpoint.open<{ log: string[] }>('doc', { initial: { log: [] } }))
    }
    const root = endpoints.find((e) => e.role === 'host')!
    const epoch = root.epoch
    const made: string[] = []
    const write = (n: number) => {
      for (let i = 0; i < n; i++) {
        const token = `t${made.length}`
        docs[made.length % docs.length]!.change((d) => void d.log.push(token))
        made.push(token)
      }
    }
    write(20)
    await Promise.all(docs.map((d) => d.synced()))
    await cluster[0]!.kill()
    // Writes go on through the loss of a member, and over the following lease periods.
    for (let round = 0; round < 8; round++) {
      write(5)
      await new Promise((r) => setTimeout(r, 500))
    }
    await Promise.all(docs.map((d) => d.synced({ timeoutMs: 30_000 })))
    await waitFor(() => docs.every((d) => d.seq === docs[0]!.seq), 'replicas at one seq')
    for (const token of made)
      expect(
        docs[0]!.state.log.filter((t) => t === token),
        token,
      ).toHaveLength(1)
    expect(root.role).toBe('host')
    expect(root.epoch).toBe(epoch)
    expect(root.stats().leaseLapses).toBe(0)
  })
})
