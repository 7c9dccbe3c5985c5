import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ZmqTransport } from '@zinc/transport-zmq'
import { afterEach } from 'vitest'
import { Forest } from '../src/index.js'
import { etcdFixture } from './etcd-server.js'
import { MemberProcess, type Line } from './member-process.js'

/** The script of a sharded host process (`sharded-member.mjs`), for `new MemberProcess(…)`. */
export const SHARDED_MEMBER = join(dirname(fileURLToPath(import.meta.url)), 'sharded-member.mjs')

/** A sharded host's answer to `report`: the shards it leads now, and each endpoint's epoch. */
export type ShardReport = Line & { led: number[]; endpoints: Array<{ shard: number; epoch: number }> }

/** Asks a sharded host process for its report and waits for the answer. */
export async function report(host: MemberProcess): Promise<ShardReport> {
  const skip = host.of('report').length
  host.send('report')
  return (await host.next('report', skip)) as ShardReport
}

/**
 * What a test of sharded host processes on a real etcd needs: the etcd server, the host
 * processes it started (killed after each test), and forests of writers in the test process
 * over ZeroMQ (closed after each test).
 */
export function hostProcessFixture(leaseTtlMs: number) {
  const etcdServer = etcdFixture()
  const hosts: MemberProcess[] = []
  const closers: Array<() => Promise<unknown>> = []
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => {})
    await MemberProcess.killAll(hosts.splice(0))
  })
  /** A forest on the hosts under `prefix`, closed after the test. */
  async function forest(prefix: string): Promise<Forest> {
    const transport = new ZmqTransport()
    const f = await Forest.start({
      endpoints: [etcdServer.server.endpoint],
      prefix,
      leaseTtlMs,
      endpoint: () => ({ transport, bind: { inbound: 'tcp://127.0.0.1:*', outbound: 'tcp://127.0.0.1:*' }, heartbeatMs: 100, peerTimeoutMs: 1500, joinTimeoutMs: 30_000 }),
    })
    closers.push(
      () => transport.close(),
      () => f.close(),
    )
    return f
  }
  return { etcdServer, hosts, forest }
}
