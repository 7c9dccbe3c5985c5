import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Peer } from '../dist/endpoint/roster.js'
import { outranks, Succession, successionOrder } from '../dist/endpoint/succession.js'
import type { EndpointId } from '../dist/ids.js'
import { FakeClock } from '../dist/test-suite/fake-clock.js'

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}` as EndpointId
const peer = (n: number, joinOrder: number, priority = 0, bound = true): Peer => ({
  id: id(n),
  addresses: bound ? { inbound: `inproc://${n}-in`, outbound: `inproc://${n}-out` } : undefined,
  joinOrder,
  priority,
})

describe('successionOrder', () => {
  it('is the same for every candidate holding the same facts, whatever order they arrived in', () => {
    const arbPeer = fc.record({ n: fc.integer({ min: 1, max: 40 }), joinOrder: fc.integer({ min: 1, max: 50 }), priority: fc.integer({ min: -2, max: 2 }), bound: fc.boolean() })
    fc.assert(
      fc.property(fc.uniqueArray(arbPeer, { selector: (p) => p.n, maxLength: 12 }), fc.integer(), fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 4 }), (peers, seed, deadNs) => {
        const roster = peers.map((p) => peer(p.n, p.joinOrder, p.priority, p.bound))
        const shuffled = [...roster].sort((a, b) => ((a.joinOrder * 31 + seed) % 7) - ((b.joinOrder * 31 + seed) % 7))
        const dead = new Set(deadNs.map(id))
        const a = successionOrder(roster, dead).map((p) => p.id)
        const b = successionOrder(shuffled, dead).map((p) => p.id)
        expect(b).toEqual(a)
        // Only bound, living endpoints; priority first, then join order.
        for (const x of a) expect(dead.has(x)).toBe(false)
        expect(a.length).toBe(roster.filter((p) => p.addresses && !dead.has(p.id)).length)
      }),
    )
  })

  it('orders by priority, then join order, then id; leaves that bind nothing are never candidates', () => {
    const order = successionOrder([peer(3, 2), peer(2, 2), peer(1, 5, 1), peer(4, 1, 0, false), peer(5, 1)], new Set([id(9)]))
    expect(order.map((p) => p.id)).toEqual([id(1), id(5), id(2), id(3)])
  })
})

describe('outranks', () => {
  it('of two roots exactly one outranks the other, at any epochs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 99 }), fc.integer({ min: 1, max: 99 }), (ea, eb, na, nb) => {
        fc.pre(na !== nb)
        const a = { epoch: ea, id: id(na) }
        const b = { epoch: eb, id: id(nb) }
        const aOverB = outranks({ epoch: a.epoch, root: a.id }, b)
        const bOverA = outranks({ epoch: b.epoch, root: b.id }, a)
        expect(aOverB !== bOverA).toBe(true)
      }),
    )
    expect(outranks({ epoch: 3, root: id(1) }, { epoch: 3, id: id(1) })).toBe(false)
  })
})

describe('the succession state machine', () => {
  it('settled → limbo → recovering → settled; epochs only go up', () => {
    const s = new Succession(id(2), false)
    s.rosterFromParent(4, [peer(1, 1), peer(2, 2), peer(3, 3)])
    expect(s.state).toBe('settled')
    expect(s.isRoot).toBe(false)
    const order = s.parentLost(id(1))
    expect(order.map((p) => p.id)).toEqual([id(2), id(3)])
    expect(s.inLimbo).toBe(true)
    expect(s.isRoot).toBe(false)
    const epoch = s.promoted(order, 1000)
    expect(epoch).toBe(2)
    expect(s.isRoot).toBe(true)
    expect(s.recovering).toBe(true)
    expect([...s.expectedSurvivors]).toEqual([id(3)])
    expect(s.recoveryDue(10, () => false)).toBe(false)
    expect(s.recoveryDue(10, (x) => x === id(3))).toBe(true)
    expect(s.recoveryDue(1000, () => false)).toBe(true)
    s.recovered()
    expect(s.state).toBe('settled')
    expect(s.adoptEpoch(1)).toBe(false)
    expect(s.epoch).toBe(2)
  })

  it('refuses transitions that would make a second root or skip a state', () => {
    const root = new Succession(id(1), true)
    expect(() => root.parentLost(undefined)).toThrow(/root has no parent/)
    expect(() => root.promoted([], 0)).toThrow(/cannot be promoted while settled/)
    expect(() => root.recovered()).toThrow(/cannot end recovery/)
    const client = new Succession(id(2), false)
    expect(() => client.promoted([], 0)).toThrow(/cannot be promoted while settled/)
    client.parentLost(id(1))
    expect(() => client.parentLost(id(1))).toThrow(/cannot lose a parent while limbo/)
    client.joined()
    expect(client.state).toBe('settled')
    expect(client.isRoot).toBe(false)
  })

  it('a dead successor does not shrink the roster the next failover uses', () => {
    const s = new Succession(id(3), false)
    s.rosterFromParent(1, [peer(1, 1), peer(2, 2), peer(3, 3), peer(4, 4)])
    s.parentLost(id(1))
    s.joined() // joined 2, which publishes only those back so far
    s.rosterFromParent(1, [peer(3, 3)])
    const order = s.parentLost(id(2))
    expect(order.map((p) => p.id)).toEqual([id(3), id(4)])
    expect(s.previousOrder(id(4))).toBe(4)
  })
})

describe('FakeClock', () => {
  it('fires timers in time order, intervals repeatedly, and only when advanced', async () => {
    const clock = new FakeClock(0)
    const fired: string[] = []
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20)
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10)
    const every = clock.setInterval(() => fired.push(`i@${clock.now()}`), 15)
    const gone = clock.setTimeout(() => fired.push('never'), 5)
    clock.clearTimeout(gone)
    expect(fired).toEqual([])
    await clock.advance(31)
    expect(fired).toEqual(['a@10', 'i@15', 'b@20', 'i@30'])
    clock.clearInterval(every)
    await clock.advance(100)
    expect(fired).toHaveLength(4)
    expect(clock.pending).toBe(0)
  })
})
