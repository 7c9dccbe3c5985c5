import { describe, expect, it } from 'vitest'
import { applyOp } from '../dist/document/ot.js'
import { Replica } from '../dist/document/replica.js'
import { newEndpointId, type DocId } from '../dist/ids.js'
import { Kind } from '../dist/protocol/kinds.js'
import { SnapshotCodec } from '../dist/protocol/payloads.js'
import { decode, FakeIO, seededRoot } from './fake-replica-io.js'

/**
 * An endpoint promoted to root with changes of its own still pending, after the root it
 * followed refused one of them. Its new sequencer has not seen that refusal, so the pending
 * changes look like they follow a gap. Found by the chaos suite: the new root asked itself to
 * resend the gap once, nothing resends a root's own changes on a timer, and its 66 later
 * changes stayed pending for good. A root knows what it holds: the gap is gone at once.
 */

const DOC = 'doc' as DocId
type State = { log: string[] }

describe('a root promoted with its own changes pending after a refusal', () => {
  it('sequences them at once: it does not wait for changes of its own it no longer holds', () => {
    const { io: oldIO, root: oldRoot } = seededRoot(DOC, { log: [] })

    const io = new FakeIO(newEndpointId(), false)
    const me = new Replica(DOC, io, 100, 1 << 20)
    const snap = decode(oldRoot.snapshotMessage())
    me.applySnapshot(snap.seq, SnapshotCodec.decode(snap.payload))
    const push = (token: string) => {
      const op = ['log', (me.visible as State).log.length, { i: token }]
      return me.localChange(applyOp(me.visible, op), op)
    }
    push('c1')
    push('c2')
    push('c3')
    // The old root sequences c1 and refuses c2 (say, its validate hook did).
    const [c1] = io.takeUp().filter((m) => m.kind === Kind.FRAGMENT)
    oldRoot.sequencer!.accept(c1!)
    oldIO.tick()
    for (const m of oldIO.takePublished()) me.receiveSequenced(m)
    io.tick()
    me.rejected(2, 'not allowed', 'ERR_CHANGE_REJECTED', 0, 2)
    expect(me.pending.map((p) => p.fragment.clientSeq)).toEqual([3])

    // Promoted: c3 goes to its own sequencer (as the node routes a root's own sends).
    io.root = true
    me.becomeSequencer()
    me.resendPending(0)
    for (let round = 0; round < 5 && me.pending.length > 0; round++) {
      for (const m of io.takeUp().filter((m) => m.kind === Kind.FRAGMENT)) me.sequencer!.accept(m)
      io.tick()
    }
    expect(me.pending).toEqual([])
    expect((me.confirmed as State).log).toEqual(['c1', 'c3'])
    expect(me.log.find(io.self, 3)).toBe(2)
    // Nothing was asked of itself.
    expect(io.takeSent().filter(({ m }) => m.kind === Kind.RESEND)).toEqual([])
  })
})
