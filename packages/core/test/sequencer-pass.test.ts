import { describe, expect, it } from 'vitest'
import { encodeMessage } from '../dist/protocol/codec.js'
import { Kind } from '../dist/protocol/kinds.js'
import { decodeFragmentBody, encodeOp } from '../dist/protocol/ops.js'
import { applyOp, insertOp, removeOp, replaceOp, type Op } from '../dist/document/ot.js'
import { newEndpointId, type EndpointId } from '../dist/ids.js'
import { decode, seededRoot } from './fake-replica-io.js'

/**
 * Without a hook that looks at each change's states, the root applies a batch in one open pass
 * (each container copied once per batch, not once per fragment). What it sequences, refuses
 * and holds must be what applying each fragment on its own gives, an unfit one in the middle
 * of the batch included.
 */
const DOC = 'doc'

function rootReplica() {
  const initial = { shapes: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`s${i}`, { x: i }])), list: ['a', 'b'] }
  const { io, root: replica } = seededRoot(DOC, initial)
  const published: ReturnType<typeof decode>[] = []
  return {
    replica,
    published,
    answers: () => io.sent.map((s) => s.m),
    runDeferred: () => {
      io.tick()
      published.push(...io.takePublished())
    },
    initial,
  }
}

const fragment = (origin: EndpointId, clientSeq: number, op: Op) => decode(encodeMessage({ kind: Kind.FRAGMENT, origin, doc: DOC, clientSeq, baseSeq: 0, epoch: 1, payload: encodeOp(op) }))

const frozen = (v: unknown): boolean => typeof v !== 'object' || v === null || (Object.isFrozen(v) && Object.values(v).every(frozen))

describe('a batch sequenced in one pass', () => {
  it('sequences, refuses and holds what applying each fragment on its own does', async () => {
    const root = rootReplica()
    const [a, b, c] = [newEndpointId(), newEndpointId(), newEndpointId()]
    const seen: unknown[] = []
    root.replica.events.on('change', (state) => void seen.push(state))
    const batch: Array<[EndpointId, number, Op]> = [
      [a, 1, replaceOp(['shapes', 's1'], true, { x: 100 })],
      [b, 1, insertOp(['shapes', 'new'], { x: -1 })],
      // does not fit (no such key): refused; b's next change, made on top of it, is sent back
      [b, 2, removeOp(['shapes', 'missing'])],
      [b, 3, replaceOp(['shapes', 's2'], true, { x: 200 })],
      [c, 1, insertOp(['list', 1], 'z')],
      [a, 2, removeOp(['shapes', 's3'])],
      [c, 2, replaceOp(['shapes', 's1'], true, { x: 101 })],
    ]
    for (const [origin, clientSeq, op] of batch) root.replica.sequencer!.accept(fragment(origin, clientSeq, op))
    root.runDeferred()
    expect(root.published.map((m) => `${m.origin === a ? 'a' : m.origin === b ? 'b' : 'c'}${m.clientSeq}`)).toEqual(['a1', 'b1', 'c1', 'a2', 'c2'])
    expect(root.published.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5])
    // The state the published fragments give, applied one at a time on the seed.
    let expected: unknown = root.initial
    for (const m of root.published) expected = applyOp(expected, decodeFragmentBody(m.payload).op)
    expect(root.replica.confirmed).toEqual(expected)
    expect(root.replica.visible).toBe(root.replica.confirmed)
    expect(Object.keys((root.replica.confirmed as { shapes: object }).shapes)).toEqual(Object.keys((expected as { shapes: object }).shapes))
    expect(frozen(root.replica.confirmed)).toBe(true)
    expect(root.replica.seq).toBe(5)
    await Promise.resolve() // events run on a microtask
    expect(seen.at(-1)).toBe(root.replica.confirmed)
    // b heard of its refused change and of the one sent back.
    const toB = root.answers().filter((m) => m.origin !== a && m.clientSeq >= 2)
    expect(toB.length).toBeGreaterThanOrEqual(2)
    // The seed was never written.
    expect(root.initial.shapes.s1).toEqual({ x: 1 })

    // A batch where every op fits: one pass for all of it.
    const before = root.replica.confirmed as { shapes: Record<string, unknown> }
    const next: Array<[EndpointId, number, Op]> = [
      [a, 3, replaceOp(['shapes', 's4'], true, { x: 4 })],
      [c, 3, insertOp(['shapes', 'more'], { x: 5 })],
      [a, 4, replaceOp(['shapes', 'more'], true, { x: 6 })],
    ]
    for (const [origin, clientSeq, op] of next) root.replica.sequencer!.accept(fragment(origin, clientSeq, op))
    root.runDeferred()
    expect(root.replica.seq).toBe(8)
    for (const m of root.published.slice(5)) expected = applyOp(expected, decodeFragmentBody(m.payload).op)
    expect(root.replica.confirmed).toEqual(expected)
    expect(frozen(root.replica.confirmed)).toBe(true)
    expect(before.shapes.s4).toEqual({ x: 4 })
    expect(before.shapes.more).toBeUndefined()
  })
})
