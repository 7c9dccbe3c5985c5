import { consoleLogger, Endpoint, type EndpointOptions } from '@zinc/core'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { afterEach, describe, expect, it } from 'vitest'
import { FAST, waitFor } from './helpers.js'

/**
 * A promoted root sequences its own changes that were pending when it took over. The old root
 * sequenced some of the successor's changes and died before their echoes reached it; the
 * successor, promoted, resends the rest to its own sequencer, which sends some back to be
 * rebased (they follow an own change the old root sequenced). Two bugs kept them pending at
 * their own root for good (seen in the chaos suite as a root ending with a hundred pending
 * changes): the root's answers to itself went the way of a parent's message at an endpoint
 * that has no parent, and were dropped; and its resend ran inside the sequencer while it was
 * still answering the rest of that batch, so the later answers were taken for answers to the
 * copies just resent, and nothing was sent again.
 */

type Shared = { log: string[] }
const started: Endpoint[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((e) => e.close()))
})

describe('a promoted root and its own changes the old root sequenced', () => {
  it('confirms them instead of holding them pending', { timeout: 90_000 }, async () => {
    const network = new InprocNetwork({ seed: 77 })
    const start = async (node: string, options: Partial<EndpointOptions>) => {
      const endpoint = await Endpoint.start({
        ...FAST,
        // Longer than the held-back messages below, so nobody is presumed dead for them.
        peerTimeoutMs: 6_000,
        ...options,
        ...(process.env.ZINC_TEST_LOG ? { logger: consoleLogger('info', { node }) } : {}),
        transport: new InprocTransport(network, { node }),
      })
      started.push(endpoint)
      return endpoint
    }
    const bind = (node: string) => ({ bind: { inbound: network.uniqueAddress(`${node}-in`), outbound: network.uniqueAddress(`${node}-out`) } })
    const host = await start('host', bind('host'))
    // The only member that can be promoted; the reader is a leaf (it binds nothing).
    const successor = await start('successor', { ...bind('successor'), join: host.addresses })
    const reader = await start('reader', { join: host.addresses })
    const [, mine, theirs] = await Promise.all([host, successor, reader].map((e) => e.open<Shared>('doc', { initial: { log: [] } })))

    // Between the root and the successor every message is held back for up to 3 s (in order):
    // the root sequences the successor's changes and the reader sees them, while their echoes
    // to the successor are still on the way when the root dies.
    network.faults({ delay: { probability: 1, maxMs: 3_000 }, between: [['host'], ['successor']] })
    const made = Array.from({ length: 10 }, (_, i) => mine!.change((s) => void s.log.push(`s${i}`))!)
    await waitFor(() => theirs!.state.log.length === 10, 'the reader sees every change of the successor', 60_000)
    const unanswered = mine!.pendingCount
    network.kill('host')
    network.faults(null)

    await waitFor(() => successor.role === 'host', 'the successor promotes', 30_000)
    await waitFor(() => mine!.pendingCount === 0, `the new root answers its own ${unanswered} resent changes`, 30_000)
    const seqs = await Promise.all(made.map((f) => f.confirmed))
    expect(new Set(seqs).size, 'each confirmed at its own seq').toBe(10)
    await waitFor(() => theirs!.seq === mine!.seq, 'the reader follows the new root', 30_000)
    expect(mine!.state.log).toEqual(Array.from({ length: 10 }, (_, i) => `s${i}`))
    expect(theirs!.state.log).toEqual(mine!.state.log)
  })
})
