import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Children } from '../dist/endpoint/children.js'
import { applyRoster, RosterLog, type Peer } from '../dist/endpoint/roster.js'
import { decodeMessage } from '../dist/protocol/codec.js'
import { RosterCodec } from '../dist/protocol/payloads.js'
import type { EndpointId } from '../dist/ids.js'

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}` as EndpointId
const peer = (n: number, joinOrder = n): Peer => ({ id: id(n), addresses: { inbound: `inproc://${n}-in`, outbound: `inproc://${n}-out` }, joinOrder, priority: 0 })
const ORIGIN = id(999)

/** What a child holds after a ROSTER envelope, as the handler does it. */
function receive(held: { version: number; peers: Peer[] }, envelope: Uint8Array): { version: number; peers: Peer[] } | undefined {
  const m = decodeMessage(envelope, Infinity)
  if (m.seq !== 0 && m.seq <= held.version) return held
  const next = applyRoster(held.peers, held.version, RosterCodec.decode(m.payload))
  return next && { version: m.seq, peers: next }
}

const sorted = (peers: Iterable<Peer>) => [...peers].sort((a, b) => (a.id < b.id ? -1 : 1))

describe('the roster: only members that can be promoted, sent as versioned deltas', () => {
  it('a child that applies every delta holds the whole roster; one that missed a delta cannot apply the next', () => {
    const step = fc.oneof(
      fc.record({ op: fc.constant('add' as const), n: fc.integer({ min: 1, max: 30 }) }),
      fc.record({ op: fc.constant('remove' as const), n: fc.integer({ min: 1, max: 30 }) }),
      fc.record({ op: fc.constant('flush' as const), n: fc.constant(0) }),
    )
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), fc.integer({ min: 0, max: 20 }), (steps, missAt) => {
        const log = new RosterLog()
        let child = { version: -1, peers: [] as Peer[] }
        child = receive(child, log.whole(ORIGIN, 1))!
        let late: { version: number; peers: Peer[] } | undefined = child
        let flushes = 0
        for (const s of [...steps, { op: 'flush' as const, n: 0 }]) {
          if (s.op === 'add') log.add(peer(s.n))
          else if (s.op === 'remove') log.remove(id(s.n))
          else {
            const delta = log.takeDelta(ORIGIN, 1)
            if (!delta) continue
            child = receive(child, delta)!
            expect(child).toBeDefined()
            // A second child misses one delta: after it, no delta applies until it gets the whole roster.
            if (late && flushes++ !== missAt) late = receive(late, delta)
            else if (late) late = { version: late.version, peers: late.peers }
          }
        }
        expect(sorted(child.peers)).toEqual(sorted(log.members()))
        expect(child.version).toBe(log.version)
        // The late child either missed nothing that mattered or was told it cannot apply.
        if (late && late.version === log.version) expect(sorted(late.peers)).toEqual(sorted(log.members()))
        // The whole roster heals it.
        const healed = receive({ version: late?.version ?? -1, peers: late?.peers ?? [] }, log.whole(ORIGIN, 1))!
        expect(sorted(healed.peers)).toEqual(sorted(log.members()))
      }),
    )
  })

  it('a leaf joining or leaving changes no roster; a relay joining is one small delta, encoded once', () => {
    const children = new Children(undefined)
    for (let n = 1; n <= 3; n++) children.upsert(id(n), peer(n).addresses, 0, 0)
    const first = children.roster.takeDelta(ORIGIN, 1)!
    expect(RosterCodec.decode(decodeMessage(first, Infinity).payload).members).toHaveLength(3)
    const version = children.version
    for (let n = 100; n < 1100; n++) children.upsert(id(n), undefined, 0, 0)
    for (let n = 100; n < 600; n++) children.remove(id(n))
    expect(children.size).toBe(503)
    expect(children.version).toBe(version)
    expect(children.roster.takeDelta(ORIGIN, 1)).toBeUndefined()
    children.upsert(id(4), peer(4).addresses, 0, 0)
    const delta = RosterCodec.decode(decodeMessage(children.roster.takeDelta(ORIGIN, 1)!, Infinity).payload)
    expect(delta.base).toBe(version)
    expect(delta.members.map((m) => m.inbound)).toEqual(['inproc://4-in'])
    // The whole roster is the same bytes for every child that asks, until it changes.
    expect(children.roster.whole(ORIGIN, 1)).toBe(children.roster.whole(ORIGIN, 1))
    // The parent's own view (`peers`) still lists every child.
    expect(children.peers()).toHaveLength(504)
  })
})
