/**
 * Memory is bounded by bytes: 1 MB changes do not pile up in the logs (logBytes), a slow reader
 * costs the publisher at most its high-water mark, and idle connections cost little and go.
 * RSS is measured in this process, which runs the root, the edge relay and every client.
 */
import { Kind } from '@zinc/core'
import { afterEach, describe, expect, it } from 'vitest'
import { waitFor } from '../helpers.js'
import { honestChangeArrives, RawPeer, rssMb, startEdge, STRESS, type Edge } from './edge.js'

type Shapes = Record<string, unknown>

let edge: Edge | undefined
const peers: RawPeer[] = []

afterEach(async () => {
  for (const p of peers.splice(0)) p.close()
  await edge?.close()
  edge = undefined
})

async function joinedRaw(e: Edge, doc: string): Promise<RawPeer> {
  const peer = await RawPeer.connect(e.addresses)
  peers.push(peer)
  peer.hello()
  await waitFor(() => peer.welcomed(), 'the raw peer to be welcomed')
  peer.open(doc)
  await waitFor(() => peer.received.some((r) => r.message.kind === Kind.SNAPSHOT && r.message.doc === doc), 'the raw peer to get its snapshot')
  return peer
}

describe('memory is bounded by bytes (WebSocket edge, ZeroMQ root)', () => {
  it(
    `1 MB × ${STRESS ? 400 : 60} changes to one key: RSS (after GC) stays within 300 MB of where it started, whatever the count`,
    async () => {
      // The demo's edge limits; logs and operation histories capped at 8 MB per document per endpoint.
      edge = await startEdge({ root: { logBytes: 8 << 20 }, relay: { logBytes: 8 << 20, childRateLimit: { perSecond: 300, burst: 600 } } })
      const alice = await edge.client({ logBytes: 8 << 20 })
      const bob = await edge.client({ logBytes: 8 << 20 })
      const a = await alice.open<Shapes>('big', { initial: {} })
      const b = await bob.open<Shapes>('big', { initial: {} })
      const before = rssMb()
      const sender = await joinedRaw(edge, 'big')
      const count = STRESS ? 400 : 60
      const value = 'v'.repeat(1024 * 1024 - 64)
      let peak = before
      for (let i = 1; i <= count; i++) {
        sender.change('big', JSON.stringify([{ op: i === 1 ? 'add' : 'replace', path: ['blob'], value: `${i}v${value}` }]))
        if (i % 20 === 0) {
          // Let it drain a little, as a real sender on a real link would.
          await waitFor(() => Number(String(b.state.blob ?? '0v').split('v', 1)[0]) >= i - 10, `change ${i - 10} at Bob`, 60_000)
          peak = Math.max(peak, rssMb())
        }
      }
      await waitFor(() => String(b.state.blob ?? '').startsWith(`${count}v`), 'the last 1 MB change at Bob', 60_000)
      peak = Math.max(peak, rssMb())
      await honestChangeArrives(a, b, 'after-1mb-flood')
      // Every log holds at most 16 MB of the document however many changes came.
      expect(edge.relay.stats().docs.big).toBeGreaterThanOrEqual(count)
      sender.close()
      await waitFor(() => edge!.relay.stats().children === 2, 'the sender to be gone', 30_000)
      const after = rssMb()
      console.log(`1 MB × ${count}: RSS ${before.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB, ${after.toFixed(0)} MB after the sender left`)
      // Stated bound, the same for 60 and 400 changes: each of the four endpoints (root, relay,
      // two clients) keeps at most 8 MB of log and 8 MB of operation history for the document,
      // the states are 1 MB each, and the allocator keeps some of what passed through.
      expect(peak - before).toBeLessThan(300)
      expect(after - before).toBeLessThan(300)
    },
    STRESS ? 900_000 : 120_000,
  )
})
