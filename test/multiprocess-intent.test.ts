/**
 * Issue 13 over ZeroMQ across processes, through a relay:
 *
 *        root ── w0
 *          │
 *        relay ── w1, w2
 *
 * The root, the relay and three writers (one per process, tcp loopback) make random list
 * inserts, removals, moves and element edits and type and erase unique tokens, all at once;
 * afterwards every replica is equal and every accepted change means what its author meant
 * (the same model and checks as the in-process property test, test/intent-model.ts).
 * ZINC_STRESS=1 runs more seeds and steps.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Proc, type Line } from './zmq-helpers.js'
import { checkIntent, type Board, type Outcome } from './intent-model.js'

const WORKER = '../../../test/intent-worker.mjs' as 'client.js'
const STRESS = process.env.ZINC_STRESS === '1'
const SEEDS = STRESS ? [31, 32, 33, 34, 35] : [31]
const STEPS = STRESS ? 150 : 50

const procs: Proc[] = []
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.kill()))
})

function worker(name: string, parent?: Line): Proc {
  const p = new Proc(WORKER, ['--name', name, ...(parent ? ['--join', JSON.stringify(parent.addresses)] : [])], name)
  procs.push(p)
  return p
}

describe('intent over ZeroMQ across processes, through a relay', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: 5 processes edit one list and one text at once; equal replicas, every accepted edit where its author meant it`, { timeout: 240_000 }, async () => {
      const root = worker('root')
      const rootReady = await root.next('ready')
      const relay = worker('relay', rootReady)
      const relayReady = await relay.next('ready')
      const w0 = worker('w0', rootReady)
      const w1 = worker('w1', relayReady)
      const w2 = worker('w2', relayReady)
      await Promise.all([w0, w1, w2].map((w) => w.next('ready')))
      const all = [root, relay, w0, w1, w2]
      all.forEach((p, i) => p.send(`go ${STEPS} ${seed * 10 + i}`))
      const done = await Promise.all(all.map((p) => p.next('done', { timeoutMs: 180_000 })))
      const outcomes = done.flatMap((d) => d.outcomes as Outcome[])
      root.send('report 0')
      const final = await root.next('report')
      const reports = await Promise.all(all.slice(1).map((p) => (p.send(`report ${final.seq}`), p.next('report', { timeoutMs: 60_000 }))))
      for (const r of reports) {
        expect(r.seq, r.name).toBe(final.seq)
        expect(r.pending, r.name).toBe(0)
        expect(r.state, r.name).toEqual(final.state)
      }
      checkIntent(final.state as Board, outcomes)
      expect(outcomes.filter((o) => o.accepted).length).toBeGreaterThan(outcomes.length / 2)
    })
  }
})
