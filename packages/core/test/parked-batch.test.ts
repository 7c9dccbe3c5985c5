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
 * A coordinated root whose lease could not be proved when a batch became durable parks it: it
 * is answered only if the lease is renewed. Found by the sharded chaos suite (seed 121): the lease
 * lapsed instead, the root was elected again and recovery took a later history, and then the
 * parked batch was completed on resume — the old state put back over what recovery brought in,
 * and the store replaced by it: the later root's confirmed changes were gone. A parked batch is
 * now dropped when the history or the term moved on; its authors resend its changes.
 */

const DOC = 'doc' as DocId
type State = { log: string[] }

const push = (origin: ReturnType<typeof newEndpointId>, clientSeq: number, token: string, baseSeq: number) =>
  decode(encodeMessage({ kind: Kind.FRAGMENT, origin, sender: origin, doc: DOC, clientSeq, seq: 0, baseSeq, epoch: 1, payload: encodeOp(['log', 0, { i: token }]) }))

/** A stored root that has sequenced one change of `w` ('w1' at seq 1), its answers taken. */
async function rootWithOneChange() {
  const storage = new MemoryStorage()
  const { io, root } = seededRoot(DOC, { log: [] }, storage)
  await storage.writeSnapshot(DOC, root.storedSnapshot())
  root.storedUpTo = 0
  const w = newEndpointId()
  root.sequencer!.accept(push(w, 1, 'w1', 0))
  io.tick()
  await root.sequencer!.idle()
  await drain()
  io.takeSent()
  return { storage, io, root, w }
}

/** A replica restored from the store has the root's confirmed state. */
async function expectStoreHolds(storage: MemoryStorage, root: Replica) {
  const restarted = new Replica(DOC, new FakeIO(newEndpointId(), true, storage), 100, 1 << 20)
  restarted.restore((await storage.load(DOC))!)
  expect(restarted.confirmed).toEqual(root.confirmed)
}

describe('a batch parked while the lease was unproven', () => {
  it('is dropped when the root comes back in a new term on another history: the later history stays, the store follows it, nothing is refused', async () => {
    const { storage, io, root, w } = await rootWithOneChange()
    expect(root.seq).toBe(1)

    // The next batch goes to the store; by the time it is durable the lease cannot be proved:
    // it is parked.
    root.sequencer!.accept(push(w, 2, 'w2', 1))
    io.tick()
    io.confirmable = false
    for (let i = 0; i < 5; i++) await drain()
    expect(root.seq).toBe(1)
    expect((await storage.load(DOC))!.fragments.map((f) => f.seq)).toEqual([1, 2])

    // Meanwhile another root led (a later term) and confirmed three changes on its own history.
    const { io: otherIO, root: other } = seededRoot(DOC, { log: [] })
    const x = newEndpointId()
    for (let i = 1; i <= 3; i++) {
      other.sequencer!.accept(push(x, i, `x${i}`, other.seq))
      otherIO.tick()
    }
    expect(other.seq).toBe(3)
    // This root is elected again (a new term) and recovery takes that history.
    io.epochValue = 2
    root.sequencer!.pause()
    const snap = decode(other.snapshotMessage())
    root.expectSnapshot = true
    root.applySnapshot(snap.seq, SnapshotCodec.decode(snap.payload))
    expect((root.confirmed as State).log).toEqual(['x3', 'x2', 'x1'])
    io.confirmable = true
    root.sequencer!.resume()
    io.tick()
    await root.sequencer!.idle()
    await drain()
    // The later history stands: the parked batch did not come back over it.
    expect(root.seq).toBe(3)
    expect((root.confirmed as State).log).toEqual(['x3', 'x2', 'x1'])

    // w's changes come back from their author (the first, confirmed on the old history, rescued;
    // the second, never answered, resent) and are sequenced on top; the store takes them.
    root.sequencer!.accept(push(w, 1, 'w1', 3))
    root.sequencer!.accept(push(w, 2, 'w2', 3))
    io.tick()
    await root.sequencer!.idle()
    for (let i = 0; i < 5; i++) await drain()
    expect(
      io
        .takeSent()
        .filter(({ m }) => m.kind === Kind.REJECT)
        .map(({ m }) => new TextDecoder().decode(m.payload)),
    ).toEqual([])
    expect(root.seq).toBe(5)
    expect([...(root.confirmed as State).log].sort()).toEqual(['w1', 'w2', 'x1', 'x2', 'x3'])
    await expectStoreHolds(storage, root)
  })
  it('when dropped, goes first again: a later change of the same author staged behind it does not overtake it, and no resend is acknowledged without a history holding it', async () => {
    // Sharded chaos seed 155: the root was paused while a writer's change was being written; the
    // writer's next change arrived meanwhile and was staged behind it. The lease lapsed, the root
    // was elected again at a new epoch on the same history, and the parked batch was dropped. The
    // staged change then went out first; the first one, resent, was taken as sequenced earlier and
    // acknowledged, though no history held it: a confirmed change lost.
    const { storage, io, root, w } = await rootWithOneChange()

    root.sequencer!.accept(push(w, 2, 'w2', 1))
    io.tick() // being written now
    root.sequencer!.accept(push(w, 3, 'w3', 1)) // made on top of w2, staged behind it
    io.confirmable = false
    for (let i = 0; i < 5; i++) await drain()
    expect(root.seq).toBe(1)

    // Elected again, a new term, nothing else moved: the parked batch is dropped.
    io.epochValue = 2
    root.sequencer!.pause()
    io.confirmable = true
    root.sequencer!.resume()
    io.tick()
    await root.sequencer!.idle()
    for (let i = 0; i < 5; i++) await drain()
    // The author, having re-joined, resends what it has no answer for.
    root.sequencer!.accept(push(w, 2, 'w2', 1))
    root.sequencer!.accept(push(w, 3, 'w3', 1))
    io.tick()
    await root.sequencer!.idle()
    for (let i = 0; i < 5; i++) await drain()

    expect((root.confirmed as State).log).toEqual(['w3', 'w2', 'w1'])
    // Every change of w is in the history exactly once, in its order, and every answer w got
    // names the seq where the history holds that very change.
    const held = root.log
      .entriesAfter(0)
      .filter((e) => e.origin === w)
      .map((e) => [e.clientSeq, e.seq])
    expect(held).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ])
    const sent = io.takeSent().filter(({ to }) => to === w)
    expect(sent.filter(({ m }) => m.kind === Kind.REJECT)).toEqual([])
    for (const { m } of sent.filter(({ m }) => m.kind === Kind.ACK)) expect(held).toContainEqual([m.clientSeq, m.seq])
    await expectStoreHolds(storage, root)
  })

  it('when dropped, leaves a refusal in it undecided: a resend of that change is refused again, never acknowledged', async () => {
    // A refused change counted as handled the moment its batch went to the store; once the batch
    // was dropped, nothing remembered why, and a resend was acknowledged as sequenced earlier.
    const { io, root, w } = await rootWithOneChange()
    const unfit = decode(encodeMessage({ kind: Kind.FRAGMENT, origin: w, sender: w, doc: DOC, clientSeq: 2, seq: 0, baseSeq: 1, epoch: 1, payload: encodeOp(['log', 7, { r: true }]) }))
    root.sequencer!.accept(unfit)
    const v = newEndpointId()
    root.sequencer!.accept(push(v, 1, 'v1', 1)) // same batch: the batch goes to the store
    io.tick()
    io.confirmable = false
    for (let i = 0; i < 5; i++) await drain()
    io.epochValue = 2
    root.sequencer!.pause()
    root.sequencer!.accept(unfit) // the author's resend, while the root recovers
    io.confirmable = true
    root.sequencer!.resume()
    io.tick()
    await root.sequencer!.idle()
    for (let i = 0; i < 5; i++) await drain()
    root.sequencer!.accept(unfit)
    io.tick()
    await root.sequencer!.idle()
    for (let i = 0; i < 5; i++) await drain()
    const answers = io.takeSent().filter(({ to, m }) => to === w && m.clientSeq === 2)
    expect(answers.filter(({ m }) => m.kind === Kind.ACK)).toEqual([])
    expect(answers.some(({ m }) => new TextDecoder().decode(m.payload).includes('ERR_CHANGE_REJECTED'))).toBe(true)
    expect((root.confirmed as State).log).toEqual(['v1', 'w1'])
  })
})
