import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { produce, produceUnfrozen } from '../dist/document/immer.js'
import { diffWithOrder, freezeChanged, recordIdentity, type Identity } from '../dist/document/diff.js'

/**
 * doc.change diffs the state before and after its recipe; for an object the recipe changed it
 * compares only the keys immer recorded as set or deleted and those of drafts made under it
 * (diff.ts, recordIdentity), instead of every key. The op and the key-order answer must be
 * those of comparing every key, on random recipes over maps of maps, lists of objects, keys
 * deleted and set again, drafts moved from one key to another, values set back to what they
 * were, and a recipe that returns a new state.
 */
type Rec = Record<string, unknown>

const base = produce(
  {
    m: { a: { x: 1, y: 'p' }, b: { x: 2, y: 'q' }, c: { x: 3, y: 'r' }, d: 4 },
    l: [
      { id: 'i0', n: 0, tags: ['t'] },
      { id: 'i1', n: 1, tags: [] },
    ],
    big: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, { n: i }])),
    t: 'hello',
  } as Rec,
  () => {},
)

const key = fc.constantFrom('a', 'b', 'c', 'd', 'e')
const bigKey = fc.integer({ min: 0, max: 44 }).map((i) => `k${i}`)
const step = fc.oneof(
  fc.record({ t: fc.constant('set' as const), k: key, v: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constant('obj' as const)) }),
  fc.record({ t: fc.constant('del' as const), k: key }),
  fc.record({ t: fc.constant('deep' as const), k: key, v: fc.integer({ min: 0, max: 5 }) }),
  fc.record({ t: fc.constant('move' as const), from: key, to: key }),
  fc.record({ t: fc.constant('restore' as const), k: key }),
  fc.record({ t: fc.constant('readd' as const), k: key }),
  fc.record({ t: fc.constant('bigset' as const), k: bigKey, v: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ t: fc.constant('bigdel' as const), k: bigKey }),
  fc.record({ t: fc.constant('bigedit' as const), k: bigKey, v: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ t: fc.constant('push' as const), n: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ t: fc.constant('edit' as const), at: fc.nat(3), n: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ t: fc.constant('tag' as const), at: fc.nat(3) }),
  fc.record({ t: fc.constant('splice' as const), at: fc.nat(3) }),
  fc.record({ t: fc.constant('text' as const), s: fc.constantFrom('hello!', 'help', 'hello') }),
  fc.record({ t: fc.constant('read' as const), k: key }),
)
type Step = typeof step extends fc.Arbitrary<infer T> ? T : never

function run(d: Rec, steps: Step[], start: Rec = base): void {
  const m = d.m as Rec
  const big = d.big as Rec
  const l = d.l as Rec[]
  for (const s of steps) {
    if (s.t === 'set') m[s.k] = s.v === 'obj' ? { x: 9 } : s.v
    else if (s.t === 'del') delete m[s.k]
    else if (s.t === 'deep') {
      const v = m[s.k]
      if (typeof v === 'object' && v !== null) (v as Rec).x = s.v
    } else if (s.t === 'move') {
      // a draft taken from one key to another
      const v = m[s.from]
      delete m[s.from]
      if (v !== undefined) m[s.to] = v
    } else if (s.t === 'restore')
      m[s.k] = (start.m as Rec)[s.k] // the value it had: immer drafts it again
    else if (s.t === 'readd') {
      const v = m[s.k]
      delete m[s.k]
      if (v !== undefined) m[s.k] = v
    } else if (s.t === 'bigset') big[s.k] = { n: s.v }
    else if (s.t === 'bigdel') delete big[s.k]
    else if (s.t === 'bigedit') {
      const v = big[s.k]
      if (typeof v === 'object' && v !== null) (v as Rec).n = s.v
    } else if (s.t === 'push') l.push({ id: `p${s.n}`, n: s.n, tags: [] })
    else if (s.t === 'edit' && l.length > 0) l[s.at % l.length]!.n = s.at
    else if (s.t === 'tag' && l.length > 0) (l[s.at % l.length]!.tags as string[]).push('z')
    else if (s.t === 'splice' && l.length > 0) l.splice(s.at % l.length, 1)
    else if (s.t === 'text') d.t = s.s
    else if (s.t === 'read') void (m[s.k] as Rec | undefined)?.x
  }
}

describe('the diff of a recipe by the keys immer recorded', () => {
  it('gives the op and the key order of a diff over every key (random recipes)', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 10 }), fc.boolean(), (steps, twice) => {
        // twice: a second recipe on the first one's result (its objects are frozen copies)
        const start = twice ? produce(base, (d) => run(d as Rec, steps.slice(0, 3))) : base
        const identity: Identity = new Map()
        const after = produce(start, (d) => {
          run(d as Rec, steps, start)
          recordIdentity(d, identity)
        })
        const byKeys = diffWithOrder(start, after, identity, true)
        const everyKey = diffWithOrder(start, after, identity, false)
        expect(byKeys).toEqual(everyKey)
      }),
      { numRuns: 3000 },
    )
  })

  it('freezes what the recipe changed as immer would: the same state, frozen everywhere (random recipes)', () => {
    const frozenEverywhere = (v: unknown): boolean => typeof v !== 'object' || v === null || (Object.isFrozen(v) && Object.values(v).every(frozenEverywhere))
    fc.assert(
      fc.property(fc.array(step, { maxLength: 10 }), fc.boolean(), fc.boolean(), (steps, twice, replace) => {
        const start = twice ? produce(base, (d) => run(d as Rec, steps.slice(0, 3))) : base
        const recipe = (d: Rec) => {
          // a recipe may also return a new state instead of changing its draft
          if (replace) return { ...d, fresh: { list: [{ n: 1 }] } }
          run(d, steps, start)
          recordIdentity(d, new Map())
          return undefined
        }
        const immers = produce(start, recipe as never)
        const after = produceUnfrozen(start, recipe as never)
        freezeChanged(after)
        expect(after).toEqual(immers)
        expect(frozenEverywhere(after)).toBe(true)
      }),
      { numRuns: 2000 },
    )
  })

  it('sees a key deleted and set again: the order changed', () => {
    const identity: Identity = new Map()
    const after = produce(base, (d) => {
      const m = (d as Rec).m as Rec
      const a = m.a
      delete m.a
      m.a = a
      recordIdentity(d, identity)
    })
    expect(Object.keys(after.m as Rec)[3]).toBe('a')
    expect(diffWithOrder(base, after, identity, true).sameOrder).toBe(false)
  })
})
