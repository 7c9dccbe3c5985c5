import { describe, expect, it } from 'vitest'
import { Replica } from '../dist/document/replica.js'
import { newEndpointId, type DocId } from '../dist/ids.js'
import { MemoryStorage } from '../dist/memory-storage.js'
import { encodeMessage } from '../dist/protocol/codec.js'
import { Kind } from '../dist/protocol/kinds.js'
import { encodeOp } from '../dist/protocol/ops.js'
import { SnapshotCodec } from '../dist/protocol/payloads.js'
import { decode, drain, FakeIO, seededRoot } from './fake-replica-io.js'

/**
 * A relay promoted to root stores a snapshot when recovery ends; fragments a survivor gave it
 * can land after that snapshot was taken. Found by the chaos suite: the stored document ended
 * at seq 695 while the root was at 698, so its first append (699) left a gap, was refused
 * ("the log must stay gapless"), and so was every batch after it. The sequencer now stores the
 * state it follows first, whenever the stored document is behind it.
 */

const DOC = 'doc' as DocId
type State = { log: string[] }

const fragment = (origin: ReturnType<typeof newEndpointId>, clientSeq: number, token: string, seq = 0, baseSeq = 0) =>
  encodeMessage({ kind: Kind.FRAGMENT, origin, sender: origin, doc: DOC, clientSeq, seq, baseSeq, epoch: 1, payload: encodeOp(['log', 0, { i: token }]) })

describe('a root whose stored document is behind its replica', () => {
  it('stores a snapshot first: the next batch is appended, not refused, and a restart loads everything', async () => {
    const { io: oldIO, root: old } = seededRoot(DOC, { log: [] })

    const storage = new MemoryStorage()
    const io = new FakeIO(newEndpointId(), false, storage)
    const relay = new Replica(DOC, io, 100, 1 << 20)
    const snap = decode(old.snapshotMessage())
    relay.applySnapshot(snap.seq, SnapshotCodec.decode(snap.payload))
    // What it stored when it became root: seq 0.
    await storage.writeSnapshot(DOC, relay.storedSnapshot())
    relay.storedUpTo = 0

    // Then fragments 1..3 of the old root reach it (from a survivor), not through its sequencer.
    const writer = newEndpointId()
    for (let i = 1; i <= 3; i++) {
      old.sequencer!.accept(decode(fragment(writer, i, `w${i}`, 0, old.seq)))
      oldIO.tick()
    }
    for (const m of oldIO.takePublished()) relay.receiveSequenced(m)
    io.tick()
    expect(relay.seq).toBe(3)

    io.root = true
    relay.becomeSequencer()
    relay.sequencer!.accept(decode(fragment(writer, 4, 'w4', 0, 3)))
    io.tick()
    await relay.sequencer!.idle()
    await drain()
    expect(io.takeSent().filter(({ m }) => m.kind === Kind.REJECT)).toEqual([])
    expect(relay.seq).toBe(4)

    const stored = await storage.load(DOC)
    expect(stored!.snapshot!.seq).toBe(3)
    expect(stored!.fragments.map((f) => f.seq)).toEqual([4])
    const restarted = new Replica(DOC, new FakeIO(newEndpointId(), true, storage), 100, 1 << 20)
    restarted.restore(stored!)
    expect((restarted.confirmed as State).log).toEqual((relay.confirmed as State).log)
    expect((restarted.confirmed as State).log).toHaveLength(4)
  })
})
