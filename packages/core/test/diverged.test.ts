import { describe, expect, it } from 'vitest'
import { applyOp } from '../dist/document/ot.js'
import { Replica } from '../dist/document/replica.js'
import { newEndpointId, type DocId } from '../dist/ids.js'
import { encodeMessage } from '../dist/protocol/codec.js'
import { Kind } from '../dist/protocol/kinds.js'
import { encodeOp } from '../dist/protocol/ops.js'
import { RefusalCodec, SnapshotCodec } from '../dist/protocol/payloads.js'
import { decode, FakeIO } from './fake-replica-io.js'

const DOC = 'doc' as DocId

function root(changes: number): { io: FakeIO; replica: Replica } {
  const io = new FakeIO(newEndpointId(), true)
  const replica = new Replica(DOC, io, 100, 1 << 20)
  replica.seed({ n: 0 })
  replica.becomeSequencer()
  const writer = newEndpointId()
  for (let i = 1; i <= changes; i++) {
    replica.sequencer!.accept(decode(encodeMessage({ kind: Kind.FRAGMENT, origin: writer, doc: DOC, clientSeq: i, epoch: 1, payload: encodeOp(['n', { r: true, i }]) })))
    io.tick()
  }
  return { io, replica }
}

describe('a change made on a history the root does not have', () => {
  it('is not refused: its author takes the root’s snapshot, rebases the change onto it and sends it again', () => {
    const other = root(5) // the root the author followed (say, one that took over during a pause)
    const real = root(2) // the root it must now follow, behind and on another history
    const io = new FakeIO(newEndpointId(), false)
    const author = new Replica(DOC, io, 100, 1 << 20)
    const snap = decode(other.replica.snapshotMessage())
    author.applySnapshot(snap.seq, SnapshotCodec.decode(snap.payload))
    const op = ['mine', { i: 'kept' }]
    const fragment = author.localChange(applyOp(author.visible, op), op)
    const sent = io.takeUp().find((m) => m.kind === Kind.FRAGMENT)!
    expect(sent.baseSeq).toBe(5)

    real.replica.sequencer!.accept(sent)
    real.io.tick()
    const answer = real.io.takeSent().find(({ m }) => m.kind === Kind.REJECT)!.m
    expect(RefusalCodec.decode(answer.payload).code).toBe('ERR_DIVERGED')
    author.rejected(answer.clientSeq, RefusalCodec.decode(answer.payload).reason, RefusalCodec.decode(answer.payload).code, answer.seq, answer.baseSeq)

    // It asks for a snapshot and holds the change meanwhile.
    const asked = io.takeUp()
    expect(asked.map((m) => m.kind)).toEqual([Kind.OPEN])
    expect(asked[0]!.seq).toBe(0)
    expect(author.pending.map((p) => p.sent)).toEqual([false])

    const realSnap = decode(real.replica.snapshotMessage())
    author.applySnapshot(realSnap.seq, SnapshotCodec.decode(realSnap.payload))
    const again = io.takeUp().find((m) => m.kind === Kind.FRAGMENT)!
    expect(again.baseSeq).toBe(2)
    real.replica.sequencer!.accept(again)
    real.io.tick()
    expect((real.replica.confirmed as { mine?: string }).mine).toBe('kept')
    expect(fragment.clientSeq).toBe(again.clientSeq)
  })
})
