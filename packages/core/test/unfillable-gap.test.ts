import { afterEach, describe, expect, it, vi } from 'vitest'
import { newEndpointId, type DocId } from '../dist/ids.js'
import { encodeMessage } from '../dist/protocol/codec.js'
import { Kind } from '../dist/protocol/kinds.js'
import { encodeOp } from '../dist/protocol/ops.js'
import { RefusalCodec } from '../dist/protocol/payloads.js'
import { decode, seededRoot } from './fake-replica-io.js'

/**
 * A gap the origin will never fill. Its change 2 was settled by an earlier root (refused, or
 * answered "unknown"), which this root cannot know: asked to resend from 2, the origin sends 3
 * again, and again. Found in the chaos suite as a writer whose every later change stayed
 * pending behind the gap, the root dropping thousands of them. After asking long enough, the
 * root goes on without 2; a copy of 2 that still turns up is refused, never acknowledged.
 */

const DOC = 'doc' as DocId
afterEach(() => void vi.useRealTimers())

/** A root sequencing one document (Date faked, to pass the give-up time), and one origin's changes to it. */
function rootAndOrigin() {
  vi.useFakeTimers({ toFake: ['Date'] })
  const { io, root } = seededRoot(DOC, { n: 0 })
  const origin = newEndpointId()
  const fragment = (clientSeq: number, refused = 0) =>
    decode(encodeMessage({ kind: Kind.FRAGMENT, origin, doc: DOC, clientSeq, epoch: 1, payload: encodeOp(['n', { r: true, i: clientSeq }], refused) }))
  return { io, root, origin, fragment }
}

describe('a gap its origin never fills', () => {
  it('is given up after repeated RESENDs: later changes are sequenced, a late copy of the gap is refused', () => {
    const { io, root, fragment } = rootAndOrigin()
    root.sequencer!.accept(fragment(1))
    io.tick()
    expect((root.confirmed as { n: number }).n).toBe(1)

    // Change 3 arrives without 2, again and again (each RESEND answered with 3 only).
    let resends = 0
    let answer: ReturnType<typeof decode> | undefined
    for (let i = 0; i < 40 && !answer; i++) {
      root.sequencer!.accept(fragment(3))
      io.tick()
      const sent = io.takeSent().map(({ m }) => m)
      resends += sent.filter((m) => m.kind === Kind.RESEND && m.clientSeq === 2).length
      answer = sent.find((m) => m.kind === Kind.REJECT && m.clientSeq === 3)
      vi.advanceTimersByTime(600)
    }
    expect(resends, 'it asked for 2 first, more than once').toBeGreaterThan(1)
    // Then it goes on without 2: 3 is sent back to be made again knowing 2 is refused (the
    // answer says so: baseSeq carries the origin's highest refused change), as any change made
    // on top of a refused one; sent again that way, it is sequenced.
    expect(RefusalCodec.decode(answer!.payload).code).toBe('ERR_STALE_BASE')
    expect(answer!.baseSeq).toBe(2)
    root.sequencer!.accept(fragment(3, 2))
    io.tick()
    expect((root.confirmed as { n: number }).n).toBe(3)

    // A copy of 2 that turns up now is refused with a reason, never taken or acknowledged.
    io.takeSent()
    root.sequencer!.accept(fragment(2))
    io.tick()
    const answers = io.takeSent().map(({ m }) => m)
    expect(answers.map((m) => m.kind)).toEqual([Kind.REJECT])
    expect(RefusalCodec.decode(answers[0]!.payload).reason).toMatch(/never received change 2/)
    expect((root.confirmed as { n: number }).n).toBe(3)
  })

  it('is not given up while the origin does send it, even if each copy is sent back (found by the chaos suite)', () => {
    const { io, root, origin, fragment } = rootAndOrigin()
    root.sequencer!.accept(fragment(1))
    io.tick()
    // Change 2 does come each time it is asked for, but made on a history the root does not
    // have (its base is ahead of the root's seq): sent back each time, not missing.
    const stale = (clientSeq: number) => decode(encodeMessage({ kind: Kind.FRAGMENT, origin, doc: DOC, clientSeq, baseSeq: 5, epoch: 1, payload: encodeOp(['n', { r: true, i: clientSeq }]) }))
    const answers: ReturnType<typeof decode>[] = []
    for (let i = 0; i < 40; i++) {
      root.sequencer!.accept(stale(2))
      io.tick()
      root.sequencer!.accept(fragment(3))
      io.tick()
      answers.push(...io.takeSent().map(({ m }) => m))
      vi.advanceTimersByTime(600)
    }
    const refused = answers.filter((m) => m.kind === Kind.REJECT && /never received/.test(RefusalCodec.decode(m.payload).reason))
    expect(refused, 'a change its origin sends is never said to be missing').toEqual([])
    // Sent on a base the root has, 2 and then 3 are sequenced, in order.
    root.sequencer!.accept(fragment(2))
    root.sequencer!.accept(fragment(3))
    io.tick()
    expect(root.log.find(origin, 2)).toBe(2)
    expect(root.log.find(origin, 3)).toBe(3)
  })

  it('is not given up while the origin resends it in time', () => {
    const { io, root, origin, fragment } = rootAndOrigin()
    root.sequencer!.accept(fragment(1))
    root.sequencer!.accept(fragment(3))
    io.tick()
    vi.advanceTimersByTime(600)
    root.sequencer!.accept(fragment(3))
    io.tick()
    // The resend brings 2, then 3: both in order.
    root.sequencer!.accept(fragment(2))
    root.sequencer!.accept(fragment(3))
    io.tick()
    expect((root.confirmed as { n: number }).n).toBe(3)
    expect(root.log.find(origin, 2)).toBe(2)
    expect(root.log.find(origin, 3)).toBe(3)
  })
})
