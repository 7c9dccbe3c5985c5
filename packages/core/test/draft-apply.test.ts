import { describe, expect, it } from 'vitest'
import { applyOp, applyOps, freezeDeep, type Op } from '../dist/document/ot.js'

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
})
