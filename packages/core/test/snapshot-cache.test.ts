import { describe, expect, it } from 'vitest'
import { CACHED_STATE_BYTES, encodeStateJson, snapshotMessageOfState } from '../dist/document/snapshot-cache.js'
import { endpointIdToBytes, newEndpointId, type DocId } from '../dist/ids.js'
import { encodeJson } from '../dist/protocol/json.js'
import { encodeSnapshotMessage, type SnapshotHead, type SnapshotParts } from '../dist/protocol/snapshot-message.js'

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

describe('snapshotMessageOfState (the last SNAPSHOT message of a large state)', () => {
  const head: SnapshotHead = { origin: newEndpointId(), doc: 'doc' as DocId, seq: 5, epoch: 2 }
  const parts: SnapshotParts = { clientSeqs: [{ origin: endpointIdToBytes(head.origin), clientSeq: 3 }], presence: [], history: 11 }
  const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b))

  it('answers the next joiner of an unchanged document with the same bytes, not a new 50 MB copy', () => {
    const state = big('a')
    const first = snapshotMessageOfState(state, head, parts)
    expect(same(first, encodeSnapshotMessage(head, { ...parts, state: encodeJson(state) }))).toBe(true)
    expect(snapshotMessageOfState(state, { ...head }, { ...parts, clientSeqs: [...parts.clientSeqs] })).toBe(first)
    // The state's JSON is kept once, inside that message.
    expect(encodeStateJson(state).buffer).toBe(first.buffer)
  })

  it('makes a new message when anything around the state changed, the state encoded once', () => {
    const state = big('b')
    const first = snapshotMessageOfState(state, head, parts)
    const changes: Array<[SnapshotHead, SnapshotParts]> = [
      [{ ...head, seq: 6 }, parts],
      [{ ...head, epoch: 3 }, parts],
      [head, { ...parts, history: 12 }],
      [head, { ...parts, clientSeqs: [{ origin: endpointIdToBytes(head.origin), clientSeq: 4 }] }],
      [head, { ...parts, presence: [{ origin: endpointIdToBytes(head.origin), value: encodeJson({ x: 1 }) }] }],
    ]
    for (const [h, p] of changes) {
      const next = snapshotMessageOfState(state, h, p)
      expect(next).not.toBe(first)
      expect(same(next, encodeSnapshotMessage(h, { ...p, state: encodeJson(state) }))).toBe(true)
    }
  })

  it('builds small or unfrozen states afresh every time', () => {
    const small = Object.freeze({ n: 1 })
    expect(snapshotMessageOfState(small, head, parts)).not.toBe(snapshotMessageOfState(small, head, parts))
    const mutable = { tag: 'm', blob: 'x'.repeat(CACHED_STATE_BYTES) }
    const first = snapshotMessageOfState(mutable, head, parts)
    mutable.tag = 'changed'
    const second = snapshotMessageOfState(mutable, head, parts)
    expect(same(second, encodeSnapshotMessage(head, { ...parts, state: encodeJson(mutable) }))).toBe(true)
    expect(second).not.toBe(first)
  })
})
