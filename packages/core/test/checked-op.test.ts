import * as json1 from 'ot-json1'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { isChecked, markChecked } from '../dist/document/draft-apply.js'
import { applyOp, freezeDeep, type Op } from '../dist/document/ot.js'
import { decodeFragmentBody, encodeOp } from '../dist/protocol/ops.js'

/**
 * A received op is checked once, when decoded, and marked so: applying it does not run json1's
 * check again. The mark is a private field, invisible to anything that looks at the op.
 */
describe('the checked mark of a received op', () => {
  const op = ['shapes', 'a', ['n', { r: true, i: 2 }], ['x', { r: true, i: 3 }]] as unknown as Op
  const bytes = encodeOp(op)
  afterEach(() => vi.restoreAllMocks())

  it('is set by a freezing decode and cannot be seen: keys, JSON, equality', () => {
    const body = decodeFragmentBody(bytes, { freeze: true })
    const marked = body.op as unknown as unknown[]
    expect(isChecked(marked)).toBe(true)
    expect(Reflect.ownKeys(marked)).toEqual(['0', '1', '2', '3', 'length'])
    expect(Object.getOwnPropertySymbols(marked)).toEqual([])
    expect(JSON.stringify(marked)).toBe(JSON.stringify(op))
    expect(marked).toStrictEqual(op)
  })

  it('is not on an op decoded writable, a copy of a marked op, or a marked op that is not frozen', () => {
    expect(isChecked(decodeFragmentBody(bytes).op as unknown as object)).toBe(false)
    const marked = decodeFragmentBody(bytes, { freeze: true }).op as unknown as unknown[]
    expect(isChecked(structuredClone(marked))).toBe(false)
    expect(isChecked([...marked])).toBe(false)
    const writable = JSON.parse(JSON.stringify(op)) as unknown[]
    markChecked(writable)
    markChecked(writable) // twice: no throw
    expect(isChecked(writable)).toBe(false)
    Object.freeze(writable)
    expect(isChecked(writable)).toBe(true)
    for (const notAnOp of [5, 'x', undefined, null]) expect(isChecked(notAnOp)).toBe(false)
    expect(() => applyOp({}, 5 as unknown as Op)).toThrow(/./)
  })

  it("lets apply skip json1's check; an unmarked op is checked", () => {
    const state = freezeDeep({ shapes: { a: { n: 1, x: 1 } } })
    const check = vi.spyOn(json1.type, 'checkValidOp')
    const after = applyOp(state, decodeFragmentBody(bytes, { freeze: true }).op!)
    expect(check).not.toHaveBeenCalled()
    expect(after).toEqual({ shapes: { a: { n: 2, x: 3 } } })
    expect(applyOp(state, freezeDeep(JSON.parse(JSON.stringify(op)) as Op))).toEqual(after)
    expect(check).toHaveBeenCalledTimes(1)
  })
})
