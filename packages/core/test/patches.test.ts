import fc from 'fast-check'
import type { Patch } from 'immer'
import { describe, expect, it } from 'vitest'
import { applyPatches, produceWithPatches } from '../dist/document/immer.js'
import { BadFrameError } from '../dist/errors.js'
import { decodePatches, encodePatches } from '../dist/protocol/patches.js'

const utf8 = (s: string) => new TextEncoder().encode(s)
const json = (v: unknown) => utf8(JSON.stringify(v))

function expectBadFrame(fn: () => unknown, reason?: RegExp): void {
  let caught: unknown
  try {
    fn()
  } catch (error) {
    caught = error
  }
  expect(caught, 'expected a BadFrameError').toBeInstanceOf(BadFrameError)
  if (reason) expect((caught as Error).message).toMatch(reason)
}

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype'])

describe('decodePatches accepts immer patches', () => {
  it('round-trips the patches of a real change (add, replace, remove, arrays, nested values)', () => {
    const base = { shapes: { a: { x: 1, y: 2 }, b: { x: 3 } } as Record<string, { x: number; y?: number }>, order: ['a', 'b', 'c'], n: 0 }
    const [next, patches] = produceWithPatches(base, (d) => {
      d.shapes.a!.x = 10
      delete d.shapes.b
      d.shapes.c = { x: 5, y: 6 }
      d.order.length = 1
      d.order.push('z')
      d.n++
    })
    expect(patches.map((p) => p.op).sort()).toEqual(expect.arrayContaining(['add', 'remove', 'replace']))
    const decoded = decodePatches(encodePatches(patches))
    expect(decoded).toEqual(patches)
    expect(applyPatches(base, decoded)).toEqual(next)
  })

  it('accepts an empty list, root-path patches, numeric indexes and remove without value', () => {
    expect(decodePatches(json([]))).toEqual([])
    const list: Patch[] = [
      { op: 'replace', path: [], value: { a: 1 } },
      { op: 'add', path: ['a', 0, 'b'], value: null },
      { op: 'remove', path: ['x', 3] },
      { op: 'replace', path: ['arr', 'length'], value: 0 },
    ]
    expect(decodePatches(json(list))).toEqual(list)
  })

  it('round-trips the patches of random changes and they re-apply (property)', () => {
    const key = fc.string({ minLength: 1, maxLength: 6 }).filter((k) => !FORBIDDEN.has(k))
    // Values with a forbidden key anywhere are refused at decode (see the "forbidden keys" tests).
    const value = fc.jsonValue({ maxDepth: 2 }).filter((v) => !/"(__proto__|constructor|prototype)":/.test(JSON.stringify(v)))
    const doc = fc.dictionary(key, value, { maxKeys: 6 })
    fc.assert(
      fc.property(doc, doc, (before, after) => {
        // jsonValue may produce -0, which JSON turns into 0: normalise through JSON first.
        const a = JSON.parse(JSON.stringify(before)) as Record<string, unknown>
        const b = JSON.parse(JSON.stringify(after)) as Record<string, unknown>
        const [next, patches] = produceWithPatches(a, (d) => {
          for (const k of Object.keys(d)) if (!(k in b)) delete d[k]
          for (const [k, v] of Object.entries(b)) d[k] = v
        })
        const decoded = decodePatches(encodePatches(patches))
        expect(decoded).toEqual(JSON.parse(JSON.stringify(patches)))
        expect(applyPatches(a, decoded)).toEqual(next)
        expect(next).toEqual(b)
      }),
      { seed: 31337, numRuns: 300 },
    )
  })
})

describe('decodePatches rejects bad payloads with BadFrameError', () => {
  it.each([
    ['an object', { op: 'add', path: [], value: 1 }],
    ['a number', 1],
    ['a string', 'patches'],
    ['null', null],
    ['true', true],
  ])('rejects %s instead of a list', (_what, value) => {
    expectBadFrame(() => decodePatches(json(value)), /not a list of patches/)
  })

  it.each([null, 1, 'add', true, [], [{ op: 'add' }]])('rejects a list element %j that is not a patch object', (element) => {
    expectBadFrame(() => decodePatches(json([element])))
  })

  it.each(['move', 'copy', 'test', 'ADD', 'Replace', '', 1, null, undefined])('rejects op %j', (op) => {
    expectBadFrame(() => decodePatches(json([{ op, path: ['a'], value: 1 }])), /unknown op/)
  })

  it.each([undefined, '/a/b', 'a', { 0: 'a' }, null, 3])('rejects path %j', (path) => {
    expectBadFrame(() => decodePatches(json([{ op: 'replace', path, value: 1 }])), /no path/)
  })

  it.each([-1, 1.5, -0.5, null, true, false, {}, [], ['a']])('rejects path element %j', (element) => {
    expectBadFrame(() => decodePatches(json([{ op: 'replace', path: ['shapes', element], value: 1 }])))
  })

  it('rejects a path index that JSON parses to Infinity', () => {
    expectBadFrame(() => decodePatches(utf8('[{"op":"replace","path":["shapes",1e400],"value":1}]')), /bad index/)
  })

  it.each(['__proto__', 'constructor', 'prototype'])('rejects the key %s anywhere in a path', (key) => {
    expectBadFrame(() => decodePatches(json([{ op: 'add', path: [key], value: 1 }])), /forbidden key/)
    expectBadFrame(() => decodePatches(json([{ op: 'replace', path: ['a', key, 'polluted'], value: 1 }])), /forbidden key/)
    expectBadFrame(() => decodePatches(json([{ op: 'remove', path: ['a', 0, key] }])), /forbidden key/)
    // JSON.stringify of an object literal with __proto__ would drop it: check the raw text too.
    expectBadFrame(() => decodePatches(utf8(`[{"op":"add","path":["a","${key}","x"],"value":1}]`)), /forbidden key/)
  })

  it('rejects a bad patch after good ones', () => {
    expectBadFrame(() =>
      decodePatches(
        json([
          { op: 'add', path: ['a'], value: 1 },
          { op: 'add', path: ['__proto__'], value: 1 },
        ]),
      ),
    )
  })

  it.each(['add', 'replace'])('rejects an %s patch without a value', (op) => {
    expectBadFrame(() => decodePatches(json([{ op, path: ['a'] }])), /no value/)
  })

  it.each(['', 'not json', '[', '[{"op":"add",}]', '[1,]', 'undefined', "['a']"])('rejects invalid JSON %j', (text) => {
    expectBadFrame(() => decodePatches(utf8(text)), /not valid UTF-8 JSON/)
  })

  it.each([
    ['a lone continuation byte', [0x5b, 0x80, 0x5d]],
    ['0xff', [0xff, 0xfe]],
    ['an overlong encoding', [0x5b, 0x22, 0xc0, 0x80, 0x22, 0x5d]],
    ['an encoded surrogate', [0x5b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x5d]],
    ['a truncated sequence', [0x5b, 0x22, 0xe2, 0x82, 0x22, 0x5d]],
  ])('rejects invalid UTF-8: %s', (_what, bytes) => {
    expectBadFrame(() => decodePatches(Uint8Array.from(bytes)), /not valid UTF-8 JSON/)
  })

  it('random bytes: a list of patches or a BadFrameError, nothing else (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          expect(Array.isArray(decodePatches(bytes))).toBe(true)
        } catch (error) {
          expect(error).toBeInstanceOf(BadFrameError)
        }
      }),
      { seed: 11, numRuns: 2000 },
    )
  })

  it('random JSON: a list of patches or a BadFrameError, nothing else (property)', () => {
    const patchish = fc.record(
      {
        op: fc.oneof(fc.constantFrom('add', 'replace', 'remove'), fc.jsonValue()),
        path: fc.oneof(fc.array(fc.oneof(fc.string(), fc.integer(), fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.jsonValue())), fc.jsonValue()),
        value: fc.jsonValue(),
      },
      { requiredKeys: [] },
    )
    fc.assert(
      fc.property(fc.oneof(fc.array(patchish, { maxLength: 4 }), fc.jsonValue()), (value) => {
        try {
          const patches = decodePatches(json(value))
          for (const p of patches) {
            expect(['add', 'replace', 'remove']).toContain(p.op)
            for (const k of p.path) expect(typeof k === 'number' ? Number.isInteger(k) && k >= 0 : !FORBIDDEN.has(k)).toBe(true)
          }
        } catch (error) {
          expect(error).toBeInstanceOf(BadFrameError)
        }
      }),
      { seed: 12, numRuns: 1000 },
    )
  })
})

describe('patch values cannot reach prototypes', () => {
  // BUG (reported): src/protocol/patches.ts checks only path keys. A value holding an own
  // "__proto__" key (JSON.parse creates one) passes decodePatches; immer's applyPatches then
  // deep-clones the value with `cloned[key] = ...`, which *sets the prototype* of the new object
  // to the attacker's object. The state then carries inherited properties that JSON snapshots
  // do not (root and snapshot-joined replicas diverge), the object is no longer a plain object
  // (immer does not draft or freeze it), and a later patch under it mutates the previous state
  // in place. Either rejecting such values or sanitising them satisfies this test.
  it('a value with an own "__proto__" key is rejected, or applies without changing any prototype', () => {
    const bytes = utf8('[{"op":"add","path":["a"],"value":{"__proto__":{"polluted":1},"x":1}}]')
    let patches: Patch[]
    try {
      patches = decodePatches(bytes)
    } catch (error) {
      expect(error).toBeInstanceOf(BadFrameError)
      return
    }
    const state = applyPatches({} as Record<string, Record<string, unknown>>, patches)
    expect(Object.getPrototypeOf(state.a)).toBe(Object.prototype)
    expect(state.a!.polluted).toBeUndefined()
    expect(Object.isFrozen(state.a)).toBe(true)
  })
})
