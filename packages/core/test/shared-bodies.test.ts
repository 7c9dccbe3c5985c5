import { describe, expect, it } from 'vitest'
import { encodeOp } from '../dist/protocol/ops.js'
import { sharedFragmentBody } from '../dist/protocol/shared-bodies.js'

/** Endpoints of one process share the decode of a sequenced fragment, never a different one's. */
describe('sharedFragmentBody', () => {
  it('hands the same frozen body to every replica that receives the same bytes', () => {
    const payload = encodeOp(['shapes', 'a', { i: { x: 1 } }])
    const first = sharedFragmentBody('doc-shared', 1, 7, payload)
    const second = sharedFragmentBody('doc-shared', 1, 7, Uint8Array.from(payload))
    expect(second).toBe(first)
    expect(Object.isFrozen(first.op)).toBe(true)
    expect(() => (first.op as unknown[]).push('x')).toThrow()
  })

  it('decodes a different payload under the same place in the sequence on its own (another tree, or forged)', () => {
    const a = sharedFragmentBody('doc-forged', 2, 1, encodeOp(['k', { i: 1 }]))
    const b = sharedFragmentBody('doc-forged', 2, 1, encodeOp(['k', { i: 2 }]))
    expect(b).not.toBe(a)
    expect(b.op).toEqual(['k', { i: 2 }])
    expect(a.op).toEqual(['k', { i: 1 }])
  })

  it('refuses a malformed payload as decodeFragmentBody does, and caches nothing for it', () => {
    const bad = new TextEncoder().encode('{"o": ["k", {"i": 1}')
    expect(() => sharedFragmentBody('doc-bad', 1, 1, bad)).toThrow(/not valid UTF-8 JSON/)
    const good = encodeOp(['k', { i: 1 }])
    expect(sharedFragmentBody('doc-bad', 1, 1, good).op).toEqual(['k', { i: 1 }])
  })
})
