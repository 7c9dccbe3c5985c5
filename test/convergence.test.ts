import type { Document, DocumentFragment } from '@zinc/core'
import { InprocNetwork, mulberry32 } from '@zinc/transport-inproc'
import { afterEach, describe, expect, it } from 'vitest'
import { converged, inprocCluster, waitFor, type InprocCluster } from './helpers.js'

/**
 * Property test: many endpoints make random changes on shared keys and arrays while the
 * network drops, duplicates, delays and partitions. Afterwards every replica equals the root
 * and every change the root accepted is present exactly once. Seeds are fixed so a failure
 * is repeatable; ZINC_STRESS=1 runs many more seeds and steps.
 */

type Shared = { keys: Record<string, number>; items: Record<string, { v: number; tags: string[] }>; log: string[] }

const STRESS = process.env.ZINC_STRESS === '1'
const SEEDS = STRESS ? Array.from({ length: 40 }, (_, i) => 1000 + i) : [11, 12, 13]
const STEPS = STRESS ? 400 : 120
const ENDPOINTS = 8

let cluster: InprocCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

describe('convergence under faults', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: ${ENDPOINTS} endpoints converge, each accepted change exactly once`, async () => {
      const network = new InprocNetwork({ seed })
      cluster = await inprocCluster(ENDPOINTS - 1, {}, network)
      const { host, clients } = cluster
      const rootDoc = await host.open<Shared>('shared', { initial: { keys: {}, items: {}, log: [] } })
      const docs: Document<Shared>[] = [rootDoc, ...(await Promise.all(clients.map((c) => c.open<Shared>('shared'))))]
      network.faults({ drop: 0.05, duplicate: 0.05, delay: { probability: 0.1, maxMs: 20 } })
      const random = mulberry32(seed)
      const tokens: Array<{ token: string; fragment: DocumentFragment }> = []
      for (let step = 0; step < STEPS; step++) {
        const who = Math.floor(random() * docs.length)
        const doc = docs[who]!
        const token = `${who}:${step}`
        const key = `k${Math.floor(random() * 6)}`
        const pick = random()
        const fragment = doc.change((s) => {
          if (pick < 0.35) s.log.push(token)
          else if (pick < 0.55) s.keys[key] = step
          else if (pick < 0.65) delete s.keys[key]
          else if (pick < 0.8) s.items[key] = { v: step, tags: [token] }
          else if (pick < 0.9) {
            const item = s.items[key]
            if (item) item.tags.push(token)
          } else delete s.items[key]
        })
        if (fragment && pick < 0.35) tokens.push({ token, fragment })
        if (step % 17 === 0 && who > 0) {
          // A partition between one client and the host, healed a little later.
          network.partition([cluster.nodeOf.get(clients[who - 1]!)!], ['host'])
          await new Promise((r) => setTimeout(r, random() * 40))
          network.heal()
        }
        if (step % 5 === 0) await new Promise((r) => setImmediate(r))
      }
      network.faults(null)
      network.heal()
      await waitFor(() => converged(docs as Document<unknown>[]), `convergence of seed ${seed}`, 60_000)
      // Pushes into `log` always apply, so each must be there exactly once.
      const log = rootDoc.state.log
      for (const { token, fragment } of tokens) {
        await expect(fragment.confirmed).resolves.toBeGreaterThan(0)
        expect(log.filter((t) => t === token)).toHaveLength(1)
      }
      expect(log).toHaveLength(tokens.length)
      // The faults really happened and were repaired, not avoided.
      expect(network.stats().droppedByFault).toBeGreaterThan(0)
      const repairs = cluster.all.map((e) => e.stats()).reduce((n, st) => n + st.resent + st.resyncs + st.duplicates, 0)
      expect(repairs).toBeGreaterThan(0)
      const expected = JSON.stringify(rootDoc.state)
      for (const d of docs) expect(JSON.stringify(d.state)).toBe(expected)
    })
  }
})
