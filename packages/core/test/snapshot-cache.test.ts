import { describe, expect, it } from 'vitest'
import { CACHED_STATE_BYTES, encodeStateJson } from '../dist/document/snapshot-cache.js'
import { encodeJson } from '../dist/protocol/json.js'

const big = (tag: string) => Object.freeze({ tag, blob: 'x'.repeat(CACHED_STATE_BYTES) })

describe('encodeStateJson (snapshot state cache)', () => {
  it('serves the same bytes again for an unchanged large frozen state', () => {
    const state = big('a')
    const first = encodeStateJson(state)
    expect(encodeStateJson(state)).toBe(first)
    expect(first).toEqual(encodeJson(state))
  })

  it('encodes a changed state afresh (a new state object is a new entry)', () => {
    const before = big('a')
    const after = Object.freeze({ ...before, tag: 'b' })
    const a = encodeStateJson(before)
    const b = encodeStateJson(after)
    expect(b).not.toBe(a)
    expect(JSON.parse(new TextDecoder().decode(b)).tag).toBe('b')
  })

  it('does not cache small or unfrozen states', () => {
    const small = Object.freeze({ n: 1 })
    expect(encodeStateJson(small)).not.toBe(encodeStateJson(small))
    const mutable = { tag: 'm', blob: 'x'.repeat(CACHED_STATE_BYTES) }
    const first = encodeStateJson(mutable)
    mutable.tag = 'changed'
    const second = encodeStateJson(mutable)
    expect(second).not.toBe(first)
    expect(JSON.parse(new TextDecoder().decode(second)).tag).toBe('changed')
  })
})
