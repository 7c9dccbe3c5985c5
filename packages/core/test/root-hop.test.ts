import { afterEach, describe, expect, it, vi } from 'vitest'
import { encodeMessage } from '../dist/protocol/codec.js'
import { Kind } from '../dist/protocol/kinds.js'
import { decodeFragmentBody, encodeOp } from '../dist/protocol/ops.js'
import { insertOp, replaceOp } from '../dist/document/ot.js'
import { newEndpointId } from '../dist/ids.js'
import { pendingFragment } from '../dist/document/fragment.js'
import { sequenceLocal } from '../dist/document/sequence-local.js'
import { decode, seededRoot } from './fake-replica-io.js'

/**
 * The root's work per received fragment (issue 17, speed9): what it already did once for a
 * fragment is not done again on the way to the log.
 */
const DOC = 'doc'

afterEach(() => vi.restoreAllMocks())

describe("a child's fragment at the root", () => {
  it('is sequenced from the body decoded where it entered, not parsed a second time', () => {
    const { io, root } = seededRoot(DOC, { slot: null })
    const origin = newEndpointId()
    const op = replaceOp(['slot'], null, { n: 1 })
    const m = decode(encodeMessage({ kind: Kind.FRAGMENT, origin, doc: DOC, clientSeq: 1, baseSeq: 0, epoch: 1, payload: encodeOp(op) }))
    const body = decodeFragmentBody(m.payload)
    const parse = vi.spyOn(JSON, 'parse')
    root.sequencer!.accept(m, body)
    io.tick()
    expect(parse).not.toHaveBeenCalled()
    expect(root.seq).toBe(1)
    expect(root.confirmed).toEqual({ slot: { n: 1 } })
    // Without a decoded body it still decodes (a resend held while paused, a later branch).
    const again = decode(encodeMessage({ kind: Kind.FRAGMENT, origin, doc: DOC, clientSeq: 2, baseSeq: 1, epoch: 1, payload: encodeOp(replaceOp(['slot'], { n: 1 }, { n: 2 })) }))
    root.sequencer!.accept(again)
    io.tick()
    expect(parse).toHaveBeenCalledTimes(1)
    expect(root.confirmed).toEqual({ slot: { n: 2 } })
  })
})

describe('a run answered at the root', () => {
  const child = (origin: ReturnType<typeof newEndpointId>, key: string, baseSeq: number, from: unknown, to: unknown) =>
    decode(encodeMessage({ kind: Kind.FRAGMENT, origin, doc: DOC, clientSeq: 1, baseSeq, epoch: 1, payload: encodeOp(replaceOp([key], from, to)) }))
  const changes = (emit: { mock: { calls: unknown[][] } }) => emit.mock.calls.filter(([event]) => event === 'change')

  it("tells no one and makes no fragments for 'change' when nobody listens", () => {
    const { io, root } = seededRoot(DOC, { a: 0, b: 0, c: 0 })
    const emit = vi.spyOn(root.events, 'emit')
    root.sequencer!.accept(child(newEndpointId(), 'a', 0, 0, 1))
    io.tick()
    expect(root.confirmed).toEqual({ a: 1, b: 0, c: 0 })
    expect(changes(emit)).toHaveLength(0)
    // With a listener, it hears every fragment of the run.
    root.events.on('change', () => {})
    root.sequencer!.accept(child(newEndpointId(), 'b', 1, 0, 2))
    root.sequencer!.accept(child(newEndpointId(), 'c', 1, 0, 3))
    io.tick()
    expect(root.confirmed).toEqual({ a: 1, b: 2, c: 3 })
    expect(changes(emit)).toHaveLength(1)
    expect(changes(emit)[0]![3]).toHaveLength(2)
  })
})

describe("the root's own change", () => {
  it('is sequenced with the payload encoded when it was made, not encoded again', () => {
    const { io, root } = seededRoot(DOC, { shapes: {} })
    const op = insertOp(['shapes', 'a'], { x: 1 })
    // Bytes that say the same as encodeOp's but are not its (a leading space): the ones sent
    // show which were used.
    const made = new TextEncoder().encode(` ${JSON.stringify({ o: op })}`)
    const p = pendingFragment(DOC, io.self, 1, op, { op, rejections: 0, payload: made })
    let encodes = 0
    sequenceLocal(root, p, { shapes: { a: { x: 1 } } }, (o, n) => (encodes++, encodeOp(o, n)))
    expect(encodes).toBe(0)
    const published = io.takePublished()
    expect(published).toHaveLength(1)
    expect(published[0]!.seq).toBe(1)
    expect([...published[0]!.payload]).toEqual([...made])
    expect(decodeFragmentBody(published[0]!.payload).op).toEqual(op)
    // Encoded with a refusal count, it is encoded again without one (the sequenced form has none).
    const op2 = insertOp(['shapes', 'b'], 2)
    const q = pendingFragment(DOC, io.self, 2, op2, { op: op2, rejections: 4, payload: encodeOp(op2, 4) })
    sequenceLocal(root, q, { shapes: { a: { x: 1 }, b: 2 } }, (o, n) => (encodes++, encodeOp(o, n)))
    expect(encodes).toBe(1)
    expect([...io.takePublished()[0]!.payload]).toEqual([...encodeOp(op2)])
  })

  it('made through the replica, goes out as the bytes encoded at the change', () => {
    const { io, root } = seededRoot(DOC, { shapes: {} })
    const op = insertOp(['shapes', 'a'], { x: 1 })
    root.localChange({ shapes: { a: { x: 1 } } }, op)
    const published = io.takePublished()
    expect(published).toHaveLength(1)
    expect(root.seq).toBe(1)
    expect([...published[0]!.payload]).toEqual([...encodeOp(op)])
  })
})
