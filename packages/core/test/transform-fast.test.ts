import fc from 'fast-check'
import * as json1 from 'ot-json1'
import { describe, expect, it } from 'vitest'
import { produce } from '../dist/document/immer.js'
import { diffToOp, recordIdentity, type Identity } from '../dist/document/diff.js'
import { applyOp, insertOp, interacts, moveOp, PlaceIndex, removeOp, transformOp, type Op } from '../dist/document/ot.js'
import { transformFast } from '../dist/document/transform-fast.js'
import { invertFast } from '../dist/document/invert-fast.js'
import { unionOps } from '../dist/document/compose-fast.js'

/**
 * transform-fast.ts does the common pairs by hand (list index shifts, keys beside keys, text
 * beside text) and hands the rest to json1: its result must be json1's on random
 * pairs of the changes recipes make (including those it does not handle itself).
 */

interface Item {
  id: string
  n: number
  tags: string[]
}
interface Doc {
  items: Item[]
  title: string
  keys: Record<string, string | number>
  deep: { a: { b: string; c: number[] }; d: string }
}

const base: Doc = produce(
  {
    items: ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, n: 0, tags: ['x', 'y'] })),
    title: 'hello world',
    keys: { k0: 'c0#0', k1: 3, k2: 'abc' },
    deep: { a: { b: 'text', c: [1, 2, 3] }, d: 'more' },
  },
  () => {},
)

type Step =
  | { t: 'push' | 'insert'; at: number; id: string }
  | { t: 'remove'; at: number }
  | { t: 'move'; from: number; to: number }
  | { t: 'edit'; at: number; n: number }
  | { t: 'tag'; at: number; tag: string }
  | { t: 'type'; at: number; text: string }
  | { t: 'erase'; at: number; len: number }
  | { t: 'key'; k: string; v: string | number | undefined }
  | { t: 'deep'; text: string }
  | { t: 'list'; at: number }

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ t: fc.constantFrom('push' as const, 'insert' as const), at: fc.nat(6), id: fc.string({ minLength: 1, maxLength: 2 }) }),
  fc.record({ t: fc.constant('remove' as const), at: fc.nat(6) }),
  fc.record({ t: fc.constant('move' as const), from: fc.nat(6), to: fc.nat(6) }),
  fc.record({ t: fc.constant('edit' as const), at: fc.nat(6), n: fc.integer({ min: 1, max: 9 }) }),
  fc.record({ t: fc.constant('tag' as const), at: fc.nat(6), tag: fc.constantFrom('x', 'z') }),
  fc.record({ t: fc.constant('type' as const), at: fc.nat(12), text: fc.string({ minLength: 1, maxLength: 3 }) }),
  fc.record({ t: fc.constant('erase' as const), at: fc.nat(12), len: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ t: fc.constant('key' as const), k: fc.constantFrom('k0', 'k1', 'k2', 'k3'), v: fc.oneof(fc.constantFrom('c1#2', 'abd', 'x', undefined), fc.integer({ min: 0, max: 3 })) }),
  fc.record({ t: fc.constant('deep' as const), text: fc.constantFrom('text!', 'tex', 'next') }),
  fc.record({ t: fc.constant('list' as const), at: fc.nat(4) }),
)

function run(d: Doc, steps: Step[]): void {
  for (const s of steps) {
    const len = d.items.length
    if (s.t === 'push') d.items.push({ id: s.id, n: 0, tags: [] })
    else if (s.t === 'insert') d.items.splice(s.at % (len + 1), 0, { id: s.id, n: 0, tags: [] })
    else if (s.t === 'remove' && len > 0) d.items.splice(s.at % len, 1)
    else if (s.t === 'move' && len > 0) {
      const [x] = d.items.splice(s.from % len, 1)
      d.items.splice(s.to % len, 0, x!)
    } else if (s.t === 'edit' && len > 0) d.items[s.at % len]!.n = s.n
    else if (s.t === 'tag' && len > 0) d.items[s.at % len]!.tags.push(s.tag)
    else if (s.t === 'type') d.title = d.title.slice(0, s.at % (d.title.length + 1)) + s.text + d.title.slice(s.at % (d.title.length + 1))
    else if (s.t === 'erase') d.title = d.title.slice(0, s.at % (d.title.length + 1)) + d.title.slice((s.at % (d.title.length + 1)) + s.len)
    else if (s.t === 'key') {
      if (s.v === undefined) delete d.keys[s.k]
      else d.keys[s.k] = s.v
    } else if (s.t === 'deep') d.deep.a.b = s.text
    else if (s.t === 'list') d.deep.a.c.splice(s.at % (d.deep.a.c.length + 1), 0, 7)
  }
}

function opOf(steps: Step[]): Op {
  const identity: Identity = new Map()
  const after = produce(base, (d) => {
    run(d as Doc, steps)
    recordIdentity(d, identity)
  })
  return diffToOp(base, after, identity)
}

const NUM_RUNS = Number(process.env.ZINC_INTENT_RUNS ?? 1000)

function expectJson1(a: Op, b: Op): void {
  if (a === null || b === null) return
  for (const side of ['left', 'right'] as const) {
    const want = json1.type.transformNoConflict(a, b, side)
    const got = transformFast(a, b, side)
    // the same op (a component's fields may come in another order)
    expect(got, `${JSON.stringify(a)} over ${JSON.stringify(b)} (${side})`).toStrictEqual(want)
    if (got !== null) json1.type.checkValidOp(got)
  }
}

describe('transformFast is json1.transformNoConflict', () => {
  it('on random pairs of one or two recipe steps (the cases it does by hand)', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 2 }), fc.array(step, { minLength: 1, maxLength: 2 }), (sa, sb) => expectJson1(opOf(sa), opOf(sb))),
      { numRuns: NUM_RUNS, seed: 3 },
    )
  })

  it('on random pairs of longer recipes (several components, moves, replacements)', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 6 }), fc.array(step, { maxLength: 6 }), (sa, sb) => expectJson1(opOf(sa), opOf(sb))),
      { numRuns: NUM_RUNS, seed: 5 },
    )
  })

  it('a transformed burst still applies: pushes from two writers interleave, keys beside them untouched', () => {
    let a: Op = [
      ['items', 5, { i: { id: 'p', n: 0, tags: [] } }],
      ['keys', 'k0', { es: [{ d: 4 }, 'c0#1'] }],
    ] as Op
    const b: Op = [
      ['items', 5, { i: { id: 'q', n: 0, tags: [] } }],
      ['keys', 'k1', { r: true, i: 2 }],
    ] as Op
    a = transformFast(a as json1.JSONOpList, b as json1.JSONOpList, 'left')
    const state = applyOp(applyOp(base, b), a)
    expect(state.items.slice(5).map((i) => i.id)).toEqual(['p', 'q'])
    expect(state.keys).toEqual({ k0: 'c0#1', k1: 2, k2: 'abc' })
  })

  it('returns the very op when the other touches unrelated places, and a new one when it moved', () => {
    const a = insertOp(['items', 2], { id: 'z', n: 0, tags: [] }) as json1.JSONOpList
    expect(transformFast(a, removeOp(['keys', 'k1']) as json1.JSONOpList, 'left')).toBe(a)
    expect(transformFast(a, insertOp(['items', 4], 1) as json1.JSONOpList, 'left')).toBe(a)
    expect(transformFast(a, insertOp(['items', 0], 1) as json1.JSONOpList, 'left')).toEqual(insertOp(['items', 3], { id: 'z', n: 0, tags: [] }))
    // with a move anywhere, json1 decides
    expect(transformFast(a, moveOp(['items', 0], ['items', 4]) as json1.JSONOpList, 'left')).toEqual(json1.type.transformNoConflict(a, moveOp(['items', 0], ['items', 4]), 'left'))
  })
})

describe('ops on unrelated places pass each other unchanged', () => {
  // What a replica's rebase and an undo stack rely on to skip a transform when interacts() says no.
  it('transformOp gives back the very op, both ways, whenever interacts() is false', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 4 }), fc.array(step, { maxLength: 4 }), (sa, sb) => {
        const a = opOf(sa)
        const b = opOf(sb)
        if (a === null || b === null || interacts(a, b)) return
        expect(interacts(b, a)).toBe(false)
        expect(transformOp(a, b, true)).toBe(a)
        expect(transformOp(b, a, false)).toBe(b)
        const index = new PlaceIndex()
        index.add(a)
        expect(index.touches(b)).toBe(false)
      }),
      { numRuns: NUM_RUNS },
    )
  })
})

describe('PlaceIndex', () => {
  // A replica skips rebasing its pending changes, and an undo stack skips queueing, when
  // touches() says no: a false "no" would leave a change unrebased. It must say yes exactly
  // when an op it holds interacts with the one asked about.
  it('touches(b) is true exactly when some op added interacts with b', () => {
    fc.assert(
      fc.property(fc.array(fc.array(step, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 4 }), fc.array(step, { minLength: 1, maxLength: 3 }), (held, asked) => {
        const ops = held.map(opOf).filter((op): op is Exclude<Op, null> => op !== null)
        const b = opOf(asked)
        if (b === null) return
        const index = new PlaceIndex()
        for (const op of ops) index.add(op)
        expect(index.touches(b)).toBe(ops.some((a) => interacts(a, b)))
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it('the same on places at every depth, in lists and beside each other (ops of one or two descents)', () => {
    const seg = fc.oneof(fc.constantFrom('a', 'b', 'c'), fc.nat(2))
    const place = fc.array(seg, { maxLength: 3 })
    const component = fc.constantFrom({ i: 1 }, { r: true }, { r: true, i: 2 })
    const one = fc.tuple(place, component).map(([p, c]) => [...p, c])
    const opArb = fc.oneof(
      one,
      fc.tuple(fc.constantFrom('a', 'b'), one, one).map(([k, x, y]) => [k, x, y]),
    ) as fc.Arbitrary<Exclude<Op, null>>
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 4 }), opArb, (ops, b) => {
        const index = new PlaceIndex()
        for (const op of ops) index.add(op)
        expect(index.touches(b)).toBe(ops.some((a) => interacts(a, b)))
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it('keeps keys apart that hold the separator its paths are joined with', () => {
    const index = new PlaceIndex()
    index.add(['m', 'a\u0000b', { i: 1 }] as Op)
    index.add([
      ['n', 'c\u0000d', { r: true }],
      ['o', 0, { i: 1 }],
    ] as Op)
    expect(index.touches(['m', 'a\u0000b', 'x', { i: 1 }] as Op)).toBe(true)
    expect(index.touches(['m', { r: true }] as Op)).toBe(true)
    expect(index.touches(['n', 'c\u0000d', 'y', { i: 1 }] as Op)).toBe(true)
    expect(
      index.touches([
        ['n', 'c\u0000d', { r: true }],
        ['q', { i: 1 }],
      ] as Op),
    ).toBe(true)
    expect(index.touches(['o', 3, { r: true }] as Op)).toBe(true)
    expect(index.touches(['m', 'a', 'b', { i: 1 }] as Op)).toBe(false)
    expect(index.touches(['n', 'c', { i: 1 }] as Op)).toBe(false)
    // a record's children (the op a new shape's assignment diffs to)
    index.add(['p', ['a\u0000b', { i: 1 }], ['c', { i: 1 }]] as Op)
    expect(index.touches(['p', 'a\u0000b', 'z', { r: true }] as Op)).toBe(true)
    expect(index.touches(['p', ['a', { i: 1 }], ['b', { i: 1 }]] as Op)).toBe(false)
    expect(index.touches(['p', 'a', 'b', { i: 1 }] as Op)).toBe(false)
    expect(index.touches(['p', { r: true }] as Op)).toBe(true)
    expect(new PlaceIndex().touches([{ r: true, i: {} }] as Op)).toBe(false)
  })
})

describe('invertFast is json1.invertWithDoc', () => {
  it('on random changes: the same inverse where it answers, and it answers for writes of keys', () => {
    let answered = 0
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 3 }), (steps) => {
        const op = opOf(steps)
        if (op === null) return
        const mine = invertFast(op, base)
        if (mine === undefined) return
        answered++
        expect(mine, JSON.stringify(op)).toStrictEqual(json1.type.invertWithDoc(op, base as never))
        expect(applyOp(applyOp(base, op), mine)).toEqual(base)
      }),
      { numRuns: NUM_RUNS, seed: 9 },
    )
    expect(answered).toBeGreaterThan(NUM_RUNS / 50)
  })

  it('leaves several changes in one list, text edits and moves to json1', () => {
    expect(invertFast([['items', [0, { i: 1 }], [2, { r: true }]]] as unknown as json1.JSONOpList, base)).toBeUndefined()
    expect(invertFast(insertOp(['items', 0], 1) as json1.JSONOpList, base)).toStrictEqual(removeOp(['items', 0], 1 as never))
    expect(invertFast(['title', { es: [1, 'x'] }] as json1.JSONOpList, base)).toBeUndefined()
    expect(invertFast(['keys', 'k1', { r: true, i: 4 }] as json1.JSONOpList, base)).toStrictEqual(['keys', 'k1', { r: 4, i: 3 }])
  })
})

describe('unionOps is json1.compose for changes to different places', () => {
  it('on random pairs of changes: the same op where it answers, and it answers for changes under different keys', () => {
    let answered = 0
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 3 }), fc.array(step, { minLength: 1, maxLength: 3 }), (sa, sb) => {
        const a = opOf(sa)
        const b = opOf(sb)
        if (a === null || b === null) return
        const mine = unionOps(a, b)
        if (mine === undefined) return
        answered++
        // what it answers for are changes to different places: either order composes to it
        expect(mine, `${JSON.stringify(a)} then ${JSON.stringify(b)}`).toStrictEqual(json1.type.compose(a, b))
        expect(mine).toStrictEqual(json1.type.compose(b, a))
      }),
      { numRuns: NUM_RUNS, seed: 21 },
    )
    expect(answered).toBeGreaterThan(NUM_RUNS / 20)
  })
})

describe('applyOp (draft-apply.ts) is json1.type.apply', () => {
  it('on random recipes, and on their ops carried past each other (moves, removals, replacements, edits inside moved values)', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 6 }), fc.array(step, { minLength: 1, maxLength: 6 }), (sa, sb) => {
        const a = opOf(sa)
        const b = opOf(sb)
        for (const op of [a, b]) if (op !== null) expect(applyOp(base, op), JSON.stringify(op)).toStrictEqual(json1.type.apply(base as never, op))
        if (a === null || b === null) return
        // b then a carried past b: composed ops with moves into places the other changed
        const after = json1.type.transformNoConflict(a, b, 'left')
        const mid = applyOp(base, b)
        expect(applyOp(mid, after), `${JSON.stringify(after)} after ${JSON.stringify(b)}`).toStrictEqual(json1.type.apply(json1.type.apply(base as never, b), after))
      }),
      { numRuns: NUM_RUNS, seed: 22 },
    )
  })

  it('a value moved and then written into where it lands, a replaced value, a removed one', () => {
    const op = [
      ['items', 0, { p: 0 }],
      ['keys', 'moved', { d: 0 }, 'z', { i: 9 }],
    ] as unknown as Op
    const cases = [op, ['items', 1, { r: true, i: { id: 'q', n: 1, tags: [] } }], ['items', 2, { r: true }], ['keys', 'k1', { r: true, i: 4 }]] as unknown as Op[]
    for (const c of cases) expect(applyOp(base, c), JSON.stringify(c)).toStrictEqual(json1.type.apply(base as never, c))
    expect(base.items[0]!.n).toBe(0)
  })
})
