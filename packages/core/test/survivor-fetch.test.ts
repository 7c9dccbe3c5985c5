import { describe, expect, it } from 'vitest'
import { Replica } from '../dist/document/replica.js'
import { extendsOurHistory } from '../dist/endpoint/survivor-fetch.js'
import { newEndpointId, type DocId, type EndpointId } from '../dist/ids.js'
import { encodeMessage } from '../dist/protocol/codec.js'
import { Kind } from '../dist/protocol/kinds.js'
import { encodeOp } from '../dist/protocol/ops.js'
import { decode, FakeIO } from './fake-replica-io.js'

const DOC = 'doc' as DocId
const X = newEndpointId()
const Y = newEndpointId()

/** A root that sequenced `changes` (origin, clientSeq) in order, each setting its own key. */
function rootWith(changes: Array<[EndpointId, number]>): Replica {
  const io = new FakeIO(newEndpointId(), true)
  const replica = new Replica(DOC, io, 100, 1 << 20)
  replica.seed({})
  replica.becomeSequencer()
  for (const [origin, clientSeq] of changes) {
    const op = [`${origin.slice(0, 4)}-${clientSeq}`, { i: clientSeq }]
    replica.sequencer!.accept(decode(encodeMessage({ kind: Kind.FRAGMENT, origin, doc: DOC, clientSeq, epoch: 1, payload: encodeOp(op) })))
    io.tick()
  }
  return replica
}

describe('a recovering root takes a survivor’s fragments only if they extend its own history', () => {
  const survivor = rootWith([
    [X, 1],
    [X, 2],
    [X, 3],
    [X, 4],
  ])
  const head = { doc: DOC, seq: 4, history: survivor.log.chainAt(4)! }
  const answer = decode(survivor.catchUpMessage(2))

  it('same history up to our seq: the answer extends it', () => {
    const us = rootWith([
      [X, 1],
      [X, 2],
    ])
    expect(extendsOurHistory(us, answer, head)).toBe(true)
  })

  it('another branch before our seq (same length, a different second fragment): refused', () => {
    const us = rootWith([
      [X, 1],
      [Y, 1],
    ])
    expect(us.seq).toBe(2)
    expect(extendsOurHistory(us, answer, head)).toBe(false)
  })

  it('unknown fingerprints keep the old behaviour (taken)', () => {
    const us = rootWith([
      [X, 1],
      [Y, 1],
    ])
    expect(extendsOurHistory(us, answer, { doc: DOC, seq: 4 })).toBe(true)
  })
})
