import fc from 'fast-check'
import * as json1 from 'ot-json1'
import { describe, expect, it } from 'vitest'
import { applyOp, applyOpAs, applyOps, freezeDeep, type Op } from '../dist/document/ot.js'
import { OpenPass } from '../dist/document/draft-apply.js'

/** draft-apply.ts copies on write without immer: what immer guaranteed must still hold. */
describe('applying ops copies on write', () => {
  const before = freezeDeep({ list: ['a', 'b', 'c'], keys: { k: 'abc', n: 1 }, deep: { x: { y: [1, 2] } } })

  it('returns a deeply frozen state, shares what the ops did not touch, never writes the state passed in', () => {
    const op = [
      ['deep', 'x', 'y', 2, { i: { z: [3] } }],
      ['keys', 'k', { es: [3, 'd'] }],
      ['list', 1, { i: 'x' }],
    ] as unknown as Op
    const after = applyOp(before, op)
    expect(after).toEqual({ list: ['a', 'x', 'b', 'c'], keys: { k: 'abcd', n: 1 }, deep: { x: { y: [1, 2, { z: [3] }] } } })
    expect(before).toEqual({ list: ['a', 'b', 'c'], keys: { k: 'abc', n: 1 }, deep: { x: { y: [1, 2] } } })
    const frozen = (v: unknown): boolean => typeof v !== 'object' || v === null || (Object.isFrozen(v) && Object.values(v).every(frozen))
    expect(frozen(after)).toBe(true)
    const untouched = applyOp(before, ['list', 0, { r: true }] as unknown as Op)
    expect(untouched.keys).toBe(before.keys)
    expect(untouched.deep).toBe(before.deep)
  })

  it('a record copied on write keeps every key, an own "__proto__" key included, and its prototype', () => {
    const keys = freezeDeep(JSON.parse('{"m": {"__proto__": {"polluted": true}, "a": 1}}') as { m: Record<string, unknown> })
    const after = applyOp(keys, ['m', 'b', { i: 2 }] as unknown as Op)
    expect(Object.keys(after.m)).toEqual(['__proto__', 'a', 'b'])
    expect(Object.getPrototypeOf(after.m)).toBe(Object.prototype)
    expect((after.m as { polluted?: unknown }).polluted).toBeUndefined()
    expect(Object.getOwnPropertyDescriptor(after.m, '__proto__')?.value).toEqual({ polluted: true })
  })

  it("a wide record copied as a table (a confirmed state's copies) is the same record as a shape copy: keys, their order, values, prototype, frozen", () => {
    // 40 keys (over record-copy's WIDE_RECORD), an own "__proto__" among them, then a key added,
    // one replaced, one removed and one set inside: every way a pass copies and writes a record.
    const wide: Record<string, unknown> = JSON.parse(`{"__proto__": {"polluted": true}, ${Array.from({ length: 39 }, (_, i) => `"k${i}": {"n": ${i}}`).join(', ')}}`)
    const state = freezeDeep({ m: wide })
    const ops = [
      ['m', 'new', { i: { n: 'added' } }],
      ['m', 'k3', { r: true, i: 'replaced' }],
      ['m', 'k7', { r: true }],
      ['m', 'k9', 'n', { r: true, i: 90 }],
    ] as unknown as Op[]
    const shape = applyOps(state, ops).state
    for (const table of [applyOps(state, ops, 'table').state, ops.reduce((s, op) => applyOpAs(s, op, 'table'), state)]) {
      expect(table).toEqual(shape)
      expect(Object.keys(table.m)).toEqual(Object.keys(shape.m))
      expect(Object.getPrototypeOf(table.m)).toBe(Object.prototype)
      expect((table.m as { polluted?: unknown }).polluted).toBeUndefined()
      expect(Object.getOwnPropertyDescriptor(table.m, '__proto__')?.value).toEqual({ polluted: true })
      expect(Object.isFrozen(table.m) && Object.isFrozen(table.m.k9)).toBe(true)
      expect(table.m.k1).toBe(state.m.k1)
      expect(JSON.stringify(table)).toBe(JSON.stringify(shape))
    }
    const pass = new OpenPass(state, 'table')
    for (const op of ops) pass.apply(op)
    expect(JSON.stringify(pass.finish())).toBe(JSON.stringify(shape))
  })

  it('several ops in one pass give what applying them one by one gives; a failing op leaves the state as it was', () => {
    const ops = [
      ['list', 3, { i: 'd' }],
      ['list', 0, { r: true }],
      ['list', 0, 'q', { i: 1 }],
    ] as unknown as Op[]
    const batched = applyOps(before, ops.slice(0, 2))
    expect(batched.failed).toEqual([])
    expect(batched.state).toEqual(applyOp(applyOp(before, ops[0]!), ops[1]!))
    // the third op addresses a string as an object: refused, the first two still apply
    const partial = applyOps(before, ops)
    expect(partial.failed).toEqual([2])
    expect(partial.state.list).toEqual(['b', 'c', 'd'])
    expect(() => applyOp(before, ['list', 9, { i: 'x' }] as unknown as Op)).toThrow(/out of bounds/)
    expect(before.list).toEqual(['a', 'b', 'c'])
  })

  it('an inserted value the same op edits further is the op’s own copy: the op is not written', () => {
    const value = { items: [] as string[] }
    const op = ['keys', 'v', { i: value }, 'items', 0, { i: 'first' }] as unknown as Op
    const after = applyOp(before, op) as unknown as { keys: { v: { items: string[] } } }
    expect(after.keys.v.items).toEqual(['first'])
    expect(value.items).toEqual([])
  })

  it('an open pass (the root sequencing a batch) gives what applying each op on its own gives; an op that fails halfway leaves it as it was', () => {
    const ops = [
      ['keys', 'a', { i: 1 }],
      // removes keys.k in its pick phase, then fails to insert past the list's end
      [
        ['keys', 'k', { r: true }],
        ['list', 9, { i: 'x' }],
      ],
      ['keys', 'k', { es: [3, '!'] }],
      ['list', 1, { r: true }],
      ['keys', 'a', { r: true, i: 2 }],
      ['deep', 'x', 'y', 0, { i: 0 }],
      ['deep', 'x', 'y', 7, { r: true }],
    ] as unknown as Op[]
    const pass = new OpenPass(before)
    let oneByOne = before
    const refused: number[] = []
    ops.forEach((op, i) => {
      let fits = true
      try {
        oneByOne = applyOp(oneByOne, op)
      } catch {
        fits = false
      }
      if (fits) pass.apply(op)
      else {
        expect(() => pass.apply(op)).toThrow()
        refused.push(i)
      }
    })
    expect(refused).toEqual([1, 6])
    const after = pass.finish()
    expect(after).toEqual(oneByOne)
    expect(Object.keys(after.keys)).toEqual(Object.keys(oneByOne.keys))
    expect(after).toEqual({ list: ['a', 'c'], keys: { k: 'abc!', n: 1, a: 2 }, deep: { x: { y: [0, 1, 2] } } })
    const frozen = (v: unknown): boolean => typeof v !== 'object' || v === null || (Object.isFrozen(v) && Object.values(v).every(frozen))
    expect(frozen(after)).toBe(true)
    expect(before).toEqual({ list: ['a', 'b', 'c'], keys: { k: 'abc', n: 1 }, deep: { x: { y: [1, 2] } } })
  })
})

/**
 * The commonest op (object keys down to one place, one insert, remove or replace there) takes a
 * shortcut past the general pick and drop walk: it must give json1's result, refuse what json1
 * refuses, keep a replaced key in its place as the general walk does, and never write the state.
 */
describe('an op of object keys and one insert, remove or replace', () => {
  // (no "__proto__": json1's own copies make it a prototype; the tests above cover that key)
  const keyArb = fc.constantFrom('a', 'b', 'c', 'k')
  const valueArb = fc.oneof(fc.integer(), fc.constant('s'), fc.dictionary(keyArb, fc.integer(), { maxKeys: 3 }), fc.constant([1, 2]))
  const stateArb = fc.dictionary(keyArb, fc.oneof(valueArb, fc.dictionary(keyArb, valueArb, { maxKeys: 4 })), { maxKeys: 5 })
  const componentArb = fc.oneof(
    valueArb.map((i) => ({ i })),
    fc.constant({ r: true }),
    valueArb.map((i) => ({ r: true, i })),
  )
  const single = fc.tuple(fc.array(keyArb, { minLength: 1, maxLength: 3 }), componentArb).map(([keys, c]) => [...keys, c])
  // keys down to a record, then one op per key below it (first keys distinct and sorted, as json1 wants)
  const several = fc
    .tuple(fc.array(keyArb, { maxLength: 2 }), fc.uniqueArray(fc.tuple(keyArb, fc.array(keyArb, { maxLength: 1 }), componentArb), { minLength: 2, maxLength: 3, selector: ([k]) => k }))
    .map(([keys, children]) => [...keys, ...children.sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, more, c]) => [k, ...more, c])])
  const opArb = fc.oneof(single, several)

  it('gives what json1 gives, or fails where json1 fails; a replaced key keeps its place', () => {
    fc.assert(
      fc.property(stateArb, opArb, (raw, op) => {
        const state = freezeDeep(JSON.parse(JSON.stringify(raw)) as Record<string, unknown>)
        const snapshot = JSON.stringify(state)
        let reference: unknown
        let refused = false
        try {
          reference = json1.type.apply(JSON.parse(snapshot), op as json1.JSONOp)
        } catch {
          refused = true
        }
        let after: unknown
        try {
          after = applyOp(state, op as unknown as Op)
        } catch {
          expect(refused).toBe(true)
          expect(JSON.stringify(state)).toBe(snapshot)
          return
        }
        expect(refused).toBe(false)
        expect(after).toEqual(reference)
        expect(JSON.stringify(state)).toBe(snapshot)
        // a replace keeps the key where it was: when every component replaces, each parent record
        // has its keys in the order it had
        const last = op[op.length - 1]
        const parts = Array.isArray(last)
          ? (op.slice(
              0,
              op.findIndex((x) => Array.isArray(x)),
            ) as string[])
          : []
        const flat = Array.isArray(last) ? (op.slice(parts.length) as unknown[][]).map((child) => [...parts, ...child]) : [op]
        if (flat.every((o) => (o[o.length - 1] as { r?: unknown }).r !== undefined && (o[o.length - 1] as { i?: unknown }).i !== undefined)) {
          const parentKeys = (s: unknown, path: unknown[]): string[] => Object.keys(path.slice(0, -2).reduce((o: any, k) => o[k as string], s) as object)
          for (const o of flat) expect(parentKeys(after, o)).toEqual(parentKeys(state, o))
        }
      }),
      { numRuns: 3000 },
    )
  })
})
