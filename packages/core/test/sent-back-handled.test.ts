import { describe, expect, it } from 'vitest'
import { newEndpointId, type DocId } from '../dist/ids.js'
import { encodeMessage } from '../dist/protocol/codec.js'
import { Kind } from '../dist/protocol/kinds.js'
import { encodeOp } from '../dist/protocol/ops.js'
import { RefusalCodec } from '../dist/protocol/payloads.js'
import { decode, seededRoot } from './fake-replica-io.js'

/**
 * A change sent back to its origin (stale) holds the origin's later changes back until it is
 * resent, so they are sequenced in the origin's order. Found by the chaos suite: when the root
 * handled that change another way (here: merged with a branch of the history its origin
 * followed before), its resend was a duplicate, and every later change of the origin was sent
 * back for good — resent every second, answered "an earlier change of yours was sent back".
 */

const DOC = 'doc' as DocId
type State = { log: string[] }

describe('a change sent back and then handled another way', () => {
  it('holds nothing back: the origin’s next change is sequenced', () => {
    const { io, root } = seededRoot(DOC, { log: [] })
    const fork = root.seq
    const chain = root.log.chainAt(fork)!
    const a = newEndpointId()
    const push = (clientSeq: number, baseSeq: number, at: number, token: string, seq = 0) =>
      encodeMessage({ kind: Kind.FRAGMENT, origin: a, sender: a, doc: DOC, clientSeq, seq, baseSeq, epoch: 2, payload: encodeOp(['log', at, { i: token }]) })

    // a's change 1, made on the other history (seq 1 there), comes before its branch: sent back.
    root.sequencer!.accept(decode(push(1, 1, 0, 'a0')))
    io.tick()
    const first = io.takeSent().map(({ m }) => m)
    expect(first.map((m) => m.kind)).toEqual([Kind.REJECT])
    expect(RefusalCodec.decode(first[0]!.payload).code).toBe('ERR_DIVERGED')

    // Then the branch that other history sequenced: a's change 1, at seq 1.
    root.sequencer!.mergeBranch(fork, chain, [push(1, 0, 0, 'a0', 1)])
    io.tick()
    expect((root.confirmed as State).log).toEqual(['a0'])

    // a's next change, on the root's state: sequenced, not sent back behind change 1.
    io.takeSent()
    root.sequencer!.accept(decode(push(2, root.seq, 1, 'a1')))
    io.tick()
    const answers = io.takeSent().map(({ m }) => m)
    expect(answers.filter((m) => m.kind === Kind.REJECT).map((m) => RefusalCodec.decode(m.payload).reason)).toEqual([])
    expect((root.confirmed as State).log).toEqual(['a0', 'a1'])
    expect(root.log.find(a, 2)).toBe(2)
  })
})
