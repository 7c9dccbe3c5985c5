import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { applyOps, composeOps, freezeDeep, insertOp, moveOp, removeOp, replaceOp, type Op } from '../dist/document/ot.js'
import { keysOf, keysRemembered } from '../dist/document/record-copy.js'

/**
 * A pass that copies a wide record as a table and keeps its keys hands the copy on with the
 * key list it was copied with (record-copy.ts, keysOf): the next copy does not ask Object.keys.
 * That list must always be exactly what Object.keys gives, whatever the ops did.
 */

const wide = (n: number): Record<string, unknown> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, { n: i }]))

describe('the key list of a wide record copied as a table', () => {
  const state = freezeDeep({ m: wide(40), other: { a: 1 } })

  it('is handed on when a pass only replaces values, and the next copy reuses it (table or shape copies)', () => {
    const shape = applyOps(state, [replaceOp(['m', 'k3'], true, 'x')] as Op[]).state
    expect(keysRemembered(shape.m)).toBe(true)
    expect(keysOf(applyOps(shape, [replaceOp(['m', 'k3'], true, 'y')] as Op[], 'table').state.m)).toBe(keysOf(shape.m))
    const first = applyOps(state, [replaceOp(['m', 'k3'], true, 'x'), insertOp(['m', 'k4', 'deep'], 1)] as Op[], 'table').state
    expect(keysRemembered(first.m)).toBe(true)
    expect(keysOf(first.m)).toEqual(Object.keys(first.m))
    const second = applyOps(first, [replaceOp(['m', 'k5'], true, 'y')] as Op[], 'table').state
    // the very same list: not listed again
    expect(keysOf(second.m)).toBe(keysOf(first.m))
    expect(Object.isFrozen(second.m)).toBe(true)
  })

  it('is not kept when a pass adds, removes or moves a key, or for a narrow record', () => {
    for (const op of [insertOp(['m', 'new'], 1), removeOp(['m', 'k1']), moveOp(['m', 'k1'], ['m', 'moved']), moveOp(['m', 'k1'], ['other', 'b']), insertOp(['m', 'toString'], 1)] as Op[]) {
      const after = applyOps(state, [op], 'table').state
      expect(keysRemembered(after.m)).toBe(false)
      expect(keysOf(after.m)).toEqual(Object.keys(after.m))
    }
    expect(keysRemembered(applyOps(state, [replaceOp(['other', 'a'], true, 2)] as Op[], 'table').state.other)).toBe(false)
  })

  it('is always what Object.keys gives, and the states are those of copies that list their keys every time (property, chains of passes)', () => {
    const key = fc.constantFrom('k1', 'k2', 'k3', 'k39', 'new', 'x', 'toString', 'valueOf')
    const value = fc.oneof(fc.integer(), fc.constant({ n: 0 }))
    const opArb = fc.oneof(
      fc.tuple(key, value).map(([k, v]) => insertOp(['m', k], v)),
      key.map((k) => removeOp(['m', k])),
      fc.tuple(key, value).map(([k, v]) => replaceOp(['m', k], true, v)),
      fc.tuple(key, value).map(([k, v]) => insertOp(['m', k, 'n2'], v)),
      fc.tuple(key, key).map(([a, b]) => moveOp(['m', a], ['m', b])),
      key.map((k) => moveOp(['m', k], ['other', 'moved'])),
      key.map((k) => moveOp(['other', 'a'], ['m', k])),
      fc.tuple(key, key, value).map(([a, b, v]) => composeOps(replaceOp(['m', a], true, v), removeOp(['m', b]))),
    )
    // The reference applies each batch to a fresh deep copy of its state, whose keys nobody
    // remembers (Object.keys every time): the straightforward implementation.
    type State = typeof state
    const fresh = (s: State): State => freezeDeep(structuredClone(s))
    fc.assert(
      fc.property(fc.array(fc.array(opArb, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }), (batches) => {
        let reference: State = state
        const chains: Array<{ copies: 'table' | 'shape'; state: State }> = [
          { copies: 'table', state },
          { copies: 'shape', state },
        ]
        for (const ops of batches) {
          let expected: { state: State; failed: number[] }
          try {
            expected = applyOps(fresh(reference), ops as Op[])
          } catch {
            continue
          }
          reference = expected.state
          for (const chain of chains) {
            const got = applyOps(chain.state, ops as Op[], chain.copies)
            expect(got.failed).toEqual(expected.failed)
            chain.state = got.state
            expect(JSON.stringify(chain.state)).toBe(JSON.stringify(reference))
            const m = chain.state.m
            if (typeof m === 'object' && m !== null) {
              expect(keysOf(m)).toEqual(Object.keys(m))
              expect(Object.isFrozen(m)).toBe(true)
            }
          }
        }
      }),
      { numRuns: 1500 },
    )
  })
})
