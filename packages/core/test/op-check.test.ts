import fc from 'fast-check'
import * as json1 from 'ot-json1'
import { describe, expect, it } from 'vitest'
import { decodeFragmentBody, encodeOp } from '../dist/protocol/ops.js'
import { decodeJson } from '../dist/protocol/json.js'
import { applyOp, editOp, insertOp, moveOp, removeOp, replaceOp, composeOps, type Op } from '../dist/document/ot.js'

/**
 * decodeFragmentBody checks a received op in one pass (protocol/op-check.ts) where it took four:
 * it must accept exactly what the four accepted — the value rules (decodeJson), Zinc's op shape
 * (below, as it was) and json1's checkValidOp — on ops near and far from valid.
 */

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype'])

/** Zinc's op-shape rules as they were before the single pass (ops.ts, assertOpShape). */
function zincShape(op: unknown): void {
  if (op === null) return
  if (!Array.isArray(op)) throw new Error('not a list')
  for (const item of op) {
    if (typeof item === 'string') {
      if (FORBIDDEN.has(item)) throw new Error('forbidden path key')
    } else if (typeof item === 'number') {
      if (!Number.isInteger(item) || item < 0) throw new Error('bad index')
    } else if (Array.isArray(item)) zincShape(item)
    else if (typeof item === 'object' && item !== null) {
      for (const [k, v] of Object.entries(item)) {
        if (k === '__proto__') throw new Error('forbidden component key')
        if (k === 'et' && v !== 'text-unicode') throw new Error('unknown embedded type')
      }
    } else throw new Error('bad element')
  }
}

/** What the four passes accepted. */
function acceptedBefore(bytes: Uint8Array): boolean {
  try {
    const value = decodeJson(bytes, 'fragment payload') as { o: unknown }
    zincShape(value.o)
    json1.type.checkValidOp(value.o as Op)
    return true
  } catch {
    return false
  }
}

function acceptedNow(bytes: Uint8Array): boolean {
  const accepts = (freeze: boolean): boolean => {
    try {
      decodeFragmentBody(bytes, { freeze })
      return true
    } catch (error) {
      expect((error as Error).name).toBe('BadFrameError')
      return false
    }
  }
  // The same checks whether the body is frozen (a reader's) or not (the root's).
  const frozen = accepts(true)
  expect(accepts(false)).toBe(frozen)
  return frozen
}

// A JSON tree written out by hand, so that objects may carry keys such as "__proto__".
type Node = string | number | boolean | null | { list: Node[] } | { entries: Array<[string, Node]> }
const text = (n: Node): string =>
  n !== null && typeof n === 'object' ? ('list' in n ? `[${n.list.map(text).join(',')}]` : `{${n.entries.map(([k, v]) => `${JSON.stringify(k)}:${text(v)}`).join(',')}}`) : JSON.stringify(n)

const scalar = fc.oneof(fc.constantFrom('a', 'b', 'k', '__proto__', 'constructor', 'prototype', ''), fc.constantFrom(0, 1, 2, 3, -1, 1.5, 2 ** 31, 2 ** 40), fc.constantFrom(null, true, false))
const value: fc.Arbitrary<Node> = fc.letrec<{ v: Node }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('v'), { maxLength: 3 }).map((list) => ({ list })),
    fc.array(fc.tuple(fc.constantFrom('x', 'y', '__proto__', 'constructor', 'd'), tie('v')), { maxLength: 3 }).map((entries) => ({ entries })),
  ),
})).v
const componentValue = fc.oneof(fc.constantFrom<Node>(0, 1, 2, true, 'text-unicode', 'number', 'x'), value, fc.constant<Node>({ list: ['ab', 1, { entries: [['d', 1]] }] }))
const component = fc.array(fc.tuple(fc.constantFrom('p', 'd', 'r', 'i', 'e', 'es', 'ena', 'et', 'z', '__proto__'), componentValue), { maxLength: 3 }).map((entries): Node => ({ entries }))
const descent: fc.Arbitrary<Node> = fc.letrec<{ d: Node }>((tie) => ({
  d: fc.array(fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, scalar, component, tie('d')), { maxLength: 5 }).map((list): Node => ({ list })),
})).d

// Real ops (a few inserts, removals, moves, replacements and text edits composed), to mutate once.
const path = fc.array(fc.oneof(fc.constantFrom('a', 'b', 'c'), fc.nat(3)), { minLength: 1, maxLength: 3 })
const oneOp = fc.oneof(
  fc.tuple(path, fc.nat(5)).map(([p, v]) => insertOp(p, { v })),
  path.map((p) => removeOp(p, true)),
  fc.tuple(path, fc.nat(5)).map(([p, v]) => replaceOp(p, true, v)),
  fc.tuple(path, path).map(([a, b]) => moveOp(a, b)),
  path.map((p) => editOp(p, 'text-unicode', [1, 'x'])),
)
const realOp = fc.array(oneOp, { minLength: 1, maxLength: 3 }).map((ops) => {
  let op: Op = null
  for (const o of ops) {
    try {
      op = composeOps(op, o)
    } catch {
      // two that do not compose (a move out of a removed place): keep what composed
    }
  }
  return op
})

const toNode = (v: unknown): Node => (Array.isArray(v) ? { list: v.map(toNode) } : v !== null && typeof v === 'object' ? { entries: Object.entries(v).map(([k, x]) => [k, toNode(x)]) } : (v as Node))

/** One change somewhere in `tree`: the `at`-th container (mod their number) gets it. */
function mutate(tree: Node, at: number, how: string, node: Node, key: string): void {
  const containers: Array<{ list: Node[] } | { entries: Array<[string, Node]> }> = []
  const walk = (n: Node): void => {
    if (n === null || typeof n !== 'object') return
    containers.push(n)
    if ('list' in n) n.list.forEach(walk)
    else n.entries.forEach(([, v]) => walk(v))
  }
  walk(tree)
  if (containers.length === 0) return
  const c = containers[at % containers.length]!
  const items: unknown[] = 'list' in c ? c.list : c.entries
  const i = items.length === 0 ? 0 : Math.floor(at / containers.length) % items.length
  const made = 'list' in c ? node : [key, node]
  if (how === 'replace') items[i] = made
  else if (how === 'delete') items.splice(i, 1)
  else if (how === 'insert') items.splice(i, 0, made)
  else if (how === 'swap' && i + 1 < items.length) [items[i], items[i + 1]] = [items[i + 1], items[i]]
  else if (how === 'rename' && 'entries' in c && c.entries[i]) c.entries[i]![0] = key
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

describe('decodeFragmentBody: one pass', () => {
  it('accepts and refuses exactly what the four passes did, on random op-like trees', () => {
    let accepted = 0
    fc.assert(
      fc.property(descent, (op) => {
        const bytes = utf8(`{"o":${text(op)}}`)
        const before = acceptedBefore(bytes)
        expect(acceptedNow(bytes)).toBe(before)
        if (before) accepted++
      }),
      { numRuns: 3000 },
    )
    // The generator reaches both sides (else the property says little).
    expect(accepted).toBeGreaterThan(5)
  })

  it('agrees on real ops with one random mutation (near the valid ones)', () => {
    let accepted = 0
    fc.assert(
      fc.property(
        realOp,
        fc.nat(),
        fc.constantFrom('replace', 'delete', 'insert', 'swap', 'rename'),
        value,
        fc.constantFrom('p', 'd', 'r', 'i', 'e', 'es', 'et', '__proto__'),
        (op, at, how, node, key) => {
          const tree = toNode(op)
          mutate(tree, at, how, node, key)
          const bytes = utf8(`{"o":${text(tree)}}`)
          const before = acceptedBefore(bytes)
          expect(acceptedNow(bytes)).toBe(before)
          if (before) accepted++
        },
      ),
      { numRuns: 3000 },
    )
    expect(accepted).toBeGreaterThan(100)
  })

  const valid: Array<[string, Op]> = [
    ['insert', insertOp(['shapes', 'a'], { x: 1, tags: ['t'] })],
    ['replace', replaceOp(['shapes', 'a'], true, { x: 2 })],
    ['remove', removeOp(['list', 3], true)],
    ['move', moveOp(['list', 1], ['list', 4])],
    ['text', editOp(['title'], 'text-unicode', [2, 'hi', { d: 1 }])],
    ['two keys', composeOps(insertOp(['a'], 1), insertOp(['b', 0], 'x'))],
  ]
  it.each(valid)('accepts a real %s op, deeply frozen and equal to the sent one', (_name, op) => {
    const body = decodeFragmentBody(encodeOp(op), { freeze: true })
    expect(acceptedBefore(encodeOp(op))).toBe(true)
    expect(body.op).toEqual(op)
    const frozen = (v: unknown): boolean => typeof v !== 'object' || v === null || (Object.isFrozen(v) && Object.values(v).every(frozen))
    expect(frozen(body)).toBe(true)
    // The mark that spares the second check is invisible.
    expect(JSON.stringify(body.op)).toBe(JSON.stringify(op))
    expect(Object.keys(body.op as object)).toEqual(Object.keys(op as object))
  })

  it('refuses values nested past 512 levels, in the op and in an inserted value, without a stack overflow', () => {
    const deepDescent = '["a",'.repeat(600) + '{"i":1}' + ']'.repeat(600)
    expect(() => decodeFragmentBody(utf8(`{"o":${deepDescent}}`))).toThrow(/nests deeper than 512 levels/)
    const deepValue = '['.repeat(100_000) + ']'.repeat(100_000)
    expect(() => decodeFragmentBody(utf8(`{"o":["a",{"i":${deepValue}}]}`))).toThrow(/nests deeper than 512 levels/)
  })

  it('checks the wrapper: forbidden keys, refusals, the refusal count', () => {
    expect(() => decodeFragmentBody(utf8('{"o":null,"x":{"__proto__":1}}'))).toThrow(/forbidden key "__proto__"/)
    expect(() => decodeFragmentBody(utf8('{"refused":"ERR_X: no"}'))).toThrow(/refused where it entered the tree: ERR_X: no/)
    expect(() => decodeFragmentBody(utf8('{"o":null,"r":-1}'))).toThrow(/bad refusal count/)
    expect(() => decodeFragmentBody(utf8('{"x":1}'))).toThrow(/neither/)
    expect(() => decodeFragmentBody(utf8('7'))).toThrow(/neither/)
    expect(decodeFragmentBody(utf8('{"o":null,"r":3}'))).toEqual({ op: null, rejections: 3 })
  })

  it('still checks, when applied, a frozen op that it did not decode', () => {
    expect(() => applyOp({ list: [1, 2] }, Object.freeze(['list', 0, Object.freeze({ p: 0 })]) as Op)).toThrow()
  })
})
