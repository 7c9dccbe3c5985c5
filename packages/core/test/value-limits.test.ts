import { describe, expect, it } from 'vitest'
import { BadFrameError } from '../dist/errors.js'
import { decodeJson, MAX_VALUE_DEPTH } from '../dist/protocol/json.js'
import { arrayAmplification, MAX_HOLES_PER_FRAGMENT } from '../dist/protocol/patch-bounds.js'

const utf8 = (s: string) => new TextEncoder().encode(s)

describe('decodeJson refuses what would hurt later, before it is used', () => {
  it('accepts brackets inside strings and escaped quotes as text', () => {
    expect(decodeJson(utf8('{"a":"[[[[{{{{\\"]]"}'), 'x')).toEqual({ a: '[[[[{{{{"]]' })
  })

  it.each([
    ['100,000 levels of objects', '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000)],
    ['100,000 levels of arrays', '['.repeat(100_000) + ']'.repeat(100_000)],
    [`${MAX_VALUE_DEPTH + 1} levels`, '['.repeat(MAX_VALUE_DEPTH + 1) + ']'.repeat(MAX_VALUE_DEPTH + 1)],
  ])('refuses %s without overflowing the stack', (_name, text) => {
    expect(() => decodeJson(utf8(text), 'a presence value')).toThrow(BadFrameError)
    expect(() => decodeJson(utf8(text), 'a presence value')).toThrow(/a presence value nests deeper than 512 levels/)
  })

  it('accepts exactly the maximum depth', () => {
    const text = '['.repeat(MAX_VALUE_DEPTH) + ']'.repeat(MAX_VALUE_DEPTH)
    expect(() => decodeJson(utf8(text), 'x')).not.toThrow()
  })

  it.each(['__proto__', 'constructor', 'prototype'])('refuses the key %s anywhere, naming it', (key) => {
    expect(() => decodeJson(utf8(`{"${key}":{}}`), 'the initial value')).toThrow(new RegExp(`the initial value has a forbidden key "${key}"`))
    expect(() => decodeJson(utf8(`[1,{"a":[{"${key}":1}]}]`), 'x')).toThrow(BadFrameError)
  })

  it('accepts those words as values and inside longer keys', () => {
    expect(decodeJson(utf8('{"name":"constructor","__proto__x":1,"my prototype":2}'), 'x')).toEqual({ name: 'constructor', __proto__x: 1, 'my prototype': 2 })
  })
})

describe('arrayAmplification', () => {
  const state = { list: [1, 2, 3], map: { length: 1 } }

  it('refuses assigning an array’s length, naming the path', () => {
    expect(arrayAmplification(state, [{ op: 'replace', path: ['list', 'length'], value: 10_000_000 }])).toMatch(/length \(at \/list\/length\)/)
  })

  it('refuses an index far past the end, and one in an array made by the same fragment', () => {
    expect(arrayAmplification(state, [{ op: 'replace', path: ['list', 10_000_000], value: 1 }])).toMatch(/index 10000000 of an array of 3 items/)
    expect(
      arrayAmplification(state, [
        { op: 'add', path: ['made'], value: [] },
        { op: 'replace', path: ['made', 9_999_999], value: 1 },
      ]),
    ).toMatch(/index 9999999 of an array of 0 items/)
  })

  it('allows what immer produces: appends, replaces, removes, and a little slack for concurrent edits', () => {
    expect(
      arrayAmplification(state, [
        { op: 'add', path: ['list', 3], value: 4 },
        { op: 'add', path: ['list', 4], value: 5 },
        { op: 'replace', path: ['list', 0], value: 0 },
        { op: 'remove', path: ['list', 4] },
        { op: 'add', path: ['list', 3 + MAX_HOLES_PER_FRAGMENT], value: 'a bit past the end' },
        { op: 'replace', path: ['map', 'length'], value: 10_000_000 },
      ]),
    ).toBeUndefined()
  })

  it('counts holes over the whole fragment, so many small jumps cannot add up', () => {
    const patches = Array.from({ length: 20 }, (_, i) => ({ op: 'replace' as const, path: ['list', 3 + (i + 1) * 100], value: i }))
    expect(arrayAmplification(state, patches)).toMatch(/more than 1024 empty slots/)
  })
})
