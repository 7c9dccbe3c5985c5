import fc from 'fast-check'
import type { Patch } from 'immer'
import { describe, expect, it } from 'vitest'
import { produce } from '../dist/document/immer.js'
import { diffToOp } from '../dist/document/diff.js'
import { applyOp } from '../dist/document/ot.js'
import { Replica } from '../dist/document/replica.js'
import { ChangeRejectedError } from '../dist/errors.js'
import { newEndpointId, type DocId, type EndpointId } from '../dist/ids.js'
import { encodeMessage, type Message } from '../dist/protocol/codec.js'
import { Kind } from '../dist/protocol/kinds.js'
import { decodeJson, encodeJson } from '../dist/protocol/json.js'
import { encodePatches } from '../dist/protocol/patches.js'
import { BatchCodec, RefusalCodec, SnapshotCodec } from '../dist/protocol/payloads.js'
import { decode, drain, FakeIO } from './fake-replica-io.js'

const DOC = 'board-1' as DocId

/** Records a replica's events. */
function record(replica: Replica) {
  const changes: Array<{ state: unknown; fragment: unknown; batch: readonly unknown[] }> = []
  const rejections: Array<{ error: ChangeRejectedError; fragment: { clientSeq: number } }> = []
  let ready = 0
  replica.events.on('change', (state, fragment, batch) => changes.push({ state, fragment, batch }))
  replica.events.on('rejected', (error, fragment) => rejections.push({ error, fragment }))
  replica.events.on('ready', () => ready++)
  return {
    changes,
    rejections,
    get ready() {
      return ready
    },
  }
}

function unsequenced(origin: EndpointId, clientSeq: number, patches: unknown): Message {
  const payload = patches instanceof Uint8Array ? patches : encodePatches(patches as Patch[])
  return decode(encodeMessage({ kind: Kind.FRAGMENT, origin, doc: DOC, clientSeq, epoch: 1, payload }))
}

function sequenced(origin: EndpointId, clientSeq: number, seq: number, patches: Patch[], sender = origin): Message {
  return decode(encodeMessage({ kind: Kind.FRAGMENT, origin, sender, doc: DOC, clientSeq, seq, epoch: 1, payload: encodePatches(patches) }))
}

const set = (path: Array<string | number>, value: unknown): Patch => ({ op: 'replace', path, value })
const add = (path: Array<string | number>, value: unknown): Patch => ({ op: 'add', path, value })
const remove = (path: Array<string | number>): Patch => ({ op: 'remove', path })

interface Canvas {
  shapes: Record<string, { x: number; y?: number }>
}

function makeRoot(initial: Canvas = { shapes: { a: { x: 1 } } }) {
  const io = new FakeIO(newEndpointId(), true)
  const replica = new Replica(DOC, io, 100, 1 << 20)
  replica.seed(initial)
  replica.becomeSequencer()
  return { io, replica, events: record(replica) }
}

/** A non-root replica, ready from the given root's snapshot. */
function makeChild(root: Replica) {
  const io = new FakeIO(newEndpointId(), false)
  const replica = new Replica(DOC, io, 100, 1 << 20)
  const events = record(replica)
  const snap = decode(root.snapshotMessage())
  expect(snap.kind).toBe(Kind.SNAPSHOT)
  replica.applySnapshot(snap.seq, SnapshotCodec.decode(snap.payload))
  return { io, replica, events }
}

/** What Document.change does: the recipe's result diffed into an op, applied to the visible state. */
function localChange(replica: Replica, recipe: (d: Canvas) => void) {
  const before = replica.visible as Canvas
  const op = diffToOp(before, produce(before, recipe))
  return replica.localChange(applyOp(before, op), op)
}

describe('Replica at the root (sequencer)', () => {
  it('sequences accepted fragments in order, in one batch per tick', async () => {
    const { io, replica, events } = makeRoot()
    const c1 = newEndpointId()
    const c2 = newEndpointId()
    replica.sequencer!.accept(unsequenced(c1, 1, [set(['shapes', 'a', 'x'], 2)]))
    replica.sequencer!.accept(unsequenced(c2, 1, [add(['shapes', 'b'], { x: 5 })]))
    replica.sequencer!.accept(unsequenced(c1, 2, [set(['shapes', 'a', 'x'], 3)]))
    // nothing is applied until the tick's deferred flush, and only one flush is scheduled
    expect(replica.seq).toBe(0)
    expect(io.deferred).toHaveLength(1)
    expect(io.tick()).toBe(1)

    expect(io.published).toHaveLength(1) // one publish for the whole batch
    const out = io.takePublished()
    expect(out.map((m) => [m.kind, m.seq, m.origin, m.clientSeq, m.sender])).toEqual([
      [Kind.FRAGMENT, 1, c1, 1, io.self],
      [Kind.FRAGMENT, 2, c2, 1, io.self],
      [Kind.FRAGMENT, 3, c1, 2, io.self],
    ])
    expect(replica.seq).toBe(3)
    expect(replica.confirmed).toEqual({ shapes: { a: { x: 3 }, b: { x: 5 } } })
    expect(replica.visible).toEqual(replica.confirmed)
    expect(Object.isFrozen(replica.confirmed)).toBe(true)
    expect([...replica.clientSeqs]).toEqual(
      expect.arrayContaining([
        [c1, 2],
        [c2, 1],
      ]),
    )
    expect(replica.log.since(0)!.map((e) => decode(e).seq)).toEqual([1, 2, 3])
    expect(io.stats.sequenced).toBe(3)
    expect(io.sent).toEqual([])

    await drain()
    expect(events.changes).toHaveLength(1) // one change event for the whole batch
    expect(events.changes[0]!.state).toEqual(replica.visible)
  })

  it('dedupes by (origin, clientSeq): a resent duplicate is answered with ACK and its seq', () => {
    const { io, replica } = makeRoot()
    const c1 = newEndpointId()
    const c2 = newEndpointId()
    replica.sequencer!.accept(unsequenced(c2, 1, [set(['shapes', 'a', 'x'], 9)]))
    replica.sequencer!.accept(unsequenced(c1, 1, [set(['shapes', 'a', 'x'], 2)]))
    // a duplicate within the same tick is dropped silently
    replica.sequencer!.accept(unsequenced(c1, 1, [set(['shapes', 'a', 'x'], 2)]))
    io.tick()
    expect(io.takePublished().map((m) => m.seq)).toEqual([1, 2])
    expect(io.takeSent()).toEqual([])

    // a duplicate after it was sequenced is answered with ACK and the seq it got
    replica.sequencer!.accept(unsequenced(c1, 1, [set(['shapes', 'a', 'x'], 2)]))
    expect(io.deferred).toHaveLength(0)
    const [reply] = io.takeSent()
    expect(reply!.to).toBe(c1)
    expect(reply!.m).toMatchObject({ kind: Kind.ACK, doc: DOC, clientSeq: 1, seq: 2, origin: io.self })
    io.tick()
    expect(io.takePublished()).toEqual([])
    expect(replica.seq).toBe(2)
    expect(replica.confirmed).toEqual({ shapes: { a: { x: 2 } } })
    expect(io.stats.duplicates).toBe(2)
  })

  it('asks the origin to RESEND from the first missing clientSeq on a gap', () => {
    const { io, replica } = makeRoot()
    const c1 = newEndpointId()
    replica.sequencer!.accept(unsequenced(c1, 1, [set(['shapes', 'a', 'x'], 2)]))
    io.tick()
    io.takePublished()
    replica.sequencer!.accept(unsequenced(c1, 4, [set(['shapes', 'a', 'x'], 4)]))
    const [reply] = io.takeSent()
    expect(reply!.to).toBe(c1)
    expect(reply!.m).toMatchObject({ kind: Kind.RESEND, clientSeq: 2 })
    io.tick()
    expect(io.takePublished()).toEqual([])

    // a gap after fragments staged in this tick counts the staged ones
    replica.sequencer!.accept(unsequenced(c1, 2, [set(['shapes', 'a', 'x'], 2)]))
    replica.sequencer!.accept(unsequenced(c1, 4, [set(['shapes', 'a', 'x'], 4)]))
    expect(io.takeSent().map((s) => [s.m.kind, s.m.clientSeq])).toEqual([[Kind.RESEND, 3]])
    // the resent ones then go through in order
    replica.sequencer!.accept(unsequenced(c1, 3, [set(['shapes', 'a', 'x'], 3)]))
    replica.sequencer!.accept(unsequenced(c1, 4, [set(['shapes', 'a', 'x'], 4)]))
    io.tick()
    expect(io.takePublished().map((m) => [m.seq, m.clientSeq])).toEqual([
      [2, 2],
      [3, 3],
      [4, 4],
    ])
    expect(replica.confirmed).toEqual({ shapes: { a: { x: 4 } } })
  })

  it('rejects (REJECT via sendTo) a fragment whose patches do not apply, sequencing the rest of the batch', () => {
    const { io, replica } = makeRoot({ shapes: { gone: { x: 1 }, a: { x: 1 } } })
    const c1 = newEndpointId()
    const c2 = newEndpointId()
    replica.sequencer!.accept(unsequenced(c2, 1, [remove(['shapes', 'gone'])]))
    replica.sequencer!.accept(unsequenced(c1, 1, [set(['shapes', 'gone', 'x'], 2)]))
    replica.sequencer!.accept(unsequenced(c2, 2, [set(['shapes', 'a', 'x'], 7)]))
    io.tick()
    expect(io.takePublished().map((m) => [m.seq, m.origin, m.clientSeq])).toEqual([
      [1, c2, 1],
      [2, c2, 2],
    ])
    expect(replica.confirmed).toEqual({ shapes: { a: { x: 7 } } })
    const [reply] = io.takeSent()
    expect(reply!.to).toBe(c1)
    expect(reply!.m).toMatchObject({ kind: Kind.REJECT, doc: DOC, clientSeq: 1 })
    expect(RefusalCodec.decode(reply!.m.payload)).toMatchObject({ code: 'ERR_CHANGE_REJECTED', reason: expect.stringMatching(/do not apply/) })
    expect(io.stats.rejected).toBe(1)

    // in a later tick too
    replica.sequencer!.accept(unsequenced(c1, 2, [set(['shapes', 'gone', 'y'], 2)]))
    io.tick()
    expect(io.takeSent().map((s) => [s.to, s.m.kind, s.m.clientSeq])).toEqual([[c1, Kind.REJECT, 2]])
    expect(io.takePublished()).toEqual([])

    // a resent rejected change is rejected again, not ACKed; the next clientSeq goes through
    replica.sequencer!.accept(unsequenced(c1, 1, [set(['shapes', 'gone', 'x'], 2)]))
    expect(io.takeSent().map((s) => [s.m.kind, s.m.clientSeq])).toEqual([[Kind.REJECT, 1]])
    replica.sequencer!.accept(unsequenced(c1, 3, [add(['shapes', 'gone'], { x: 0 })]))
    io.tick()
    expect(io.takePublished().map((m) => [m.seq, m.origin, m.clientSeq])).toEqual([[3, c1, 3]])
    expect(replica.seq).toBe(3)
  })

  it('rejects a fragment whose payload is not a list of valid patches, without sequencing it', () => {
    const { io, replica } = makeRoot()
    const c1 = newEndpointId()
    replica.sequencer!.accept(unsequenced(c1, 1, new TextEncoder().encode('{"op":"add"}')))
    replica.sequencer!.accept(unsequenced(c1, 2, [add(['__proto__', 'x'], 1)]))
    io.tick()
    expect(io.takeSent().map((s) => [s.to, s.m.kind, s.m.clientSeq])).toEqual([
      [c1, Kind.REJECT, 1],
      [c1, Kind.REJECT, 2],
    ])
    expect(io.takePublished()).toEqual([])
    expect(replica.seq).toBe(0)
    expect(({} as Record<string, unknown>).x).toBeUndefined()
  })

  it("sequences the root's own change at once", async () => {
    const { io, replica, events } = makeRoot()
    const fragment = localChange(replica, (d) => {
      d.shapes.a!.x = 42
    })
    expect(await fragment.confirmed).toBe(1)
    expect(io.takePublished().map((m) => [m.seq, m.origin, m.clientSeq])).toEqual([[1, io.self, 1]])
    expect(io.up).toEqual([])
    expect(replica.pending).toEqual([])
    expect(replica.confirmed).toEqual({ shapes: { a: { x: 42 } } })
    await drain()
    expect(events.changes).toHaveLength(1)
  })

  it('answers catch-up from its log, or with a snapshot when the log does not reach back', () => {
    const io = new FakeIO(newEndpointId(), true)
    const replica = new Replica(DOC, io, 2, 1 << 20)
    replica.seed({ n: 0 })
    replica.becomeSequencer()
    const c = newEndpointId()
    for (let i = 1; i <= 4; i++) replica.sequencer!.accept(unsequenced(c, i, [set(['n'], i)]))
    io.tick()
    const fromLog = decode(replica.catchUpMessage(2))
    expect(fromLog.kind).toBe(Kind.FRAGMENTS)
    expect(BatchCodec.decode(fromLog.payload).envelopes.map((e) => decode(e).seq)).toEqual([3, 4])
    const snap = decode(replica.catchUpMessage(1))
    expect(snap).toMatchObject({ kind: Kind.SNAPSHOT, seq: 4 })
    expect(decodeJson(SnapshotCodec.decode(snap.payload).state, 'state')).toEqual({ n: 4 })
    expect(decode(replica.catchUpMessage(0)).kind).toBe(Kind.SNAPSHOT)
  })
})

describe('Replica below the root', () => {
  it('becomes ready from a snapshot, then applies sequenced fragments in seq order', async () => {
    const root = makeRoot()
    const other = newEndpointId()
    root.replica.sequencer!.accept(unsequenced(other, 1, [set(['shapes', 'a', 'x'], 2)]))
    root.io.tick()
    root.io.takePublished()

    const child = makeChild(root.replica)
    expect(child.replica.ready).toBe(true)
    expect(child.replica.seq).toBe(1)
    expect(child.replica.visible).toEqual({ shapes: { a: { x: 2 } } })
    expect(child.replica.clientSeqs.get(other)).toBe(1)

    child.replica.receiveSequenced(sequenced(other, 2, 2, [set(['shapes', 'a', 'x'], 3)]))
    expect(child.replica.seq).toBe(1) // applied on the deferred flush, not inline
    child.io.tick()
    expect(child.replica.seq).toBe(2)
    expect(child.replica.confirmed).toEqual({ shapes: { a: { x: 3 } } })
    expect(child.replica.visible).toBe(child.replica.confirmed)
    // a relay passes what it applied on to its own children, in order
    expect(child.io.takePublished().map((m) => m.seq)).toEqual([2])
    expect(child.io.up).toEqual([])
    await drain()
    expect(child.events.ready).toBe(1)
    const last = child.events.changes.at(-1)!
    expect(last.state).toEqual({ shapes: { a: { x: 3 } } })
    expect(last.fragment).toMatchObject({ origin: other, clientSeq: 2, seq: 2, local: false })
  })

  it('at a leaf (an endpoint that can never sequence) keeps no op history; if it sequenced after all, the history starts there', () => {
    const root = makeRoot({ shapes: {} })
    const o = newEndpointId()
    const full = makeChild(root.replica)
    const io = Object.assign(new FakeIO(newEndpointId(), false), { canSequence: () => false })
    const leaf = new Replica(DOC, io, 100, 1 << 20)
    leaf.applySnapshot(0, SnapshotCodec.decode(decode(root.replica.snapshotMessage()).payload))
    for (let seq = 1; seq <= 3; seq++) {
      for (const r of [full, { io, replica: leaf }]) r.replica.receiveSequenced(sequenced(o, seq, seq, [add(['shapes', `s${seq}`], { x: seq })]))
      full.io.tick()
      io.tick()
    }
    // both apply, log and dedupe alike; only the replica that may sequence keeps the ops
    expect(leaf.confirmed).toEqual(full.replica.confirmed)
    expect(leaf.log.since(0)?.length).toBe(3)
    expect(leaf.clientSeqs.get(o)).toBe(3)
    expect(full.replica.history.at(2)?.op).toBeDefined()
    expect(leaf.history.at(2)).toBeUndefined()
    expect(leaf.history.lastSeq).toBe(3)
    leaf.becomeSequencer()
    expect(leaf.history.covers(3)).toBe(true)
    expect(leaf.history.covers(2)).toBe(false)
    expect(leaf.history.limit).toBeGreaterThan(0)
  })

  it('stages out-of-order fragments and applies them once the run is contiguous', async () => {
    const root = makeRoot({ shapes: {} })
    const { io, replica, events } = makeChild(root.replica)
    const o = newEndpointId()
    replica.receiveSequenced(sequenced(o, 3, 3, [add(['shapes', 'c'], { x: 3 })]))
    replica.receiveSequenced(sequenced(o, 1, 1, [add(['shapes', 'a'], { x: 1 })]))
    replica.receiveSequenced(sequenced(o, 2, 2, [add(['shapes', 'b'], { x: 2 })]))
    expect(io.deferred).toHaveLength(1)
    io.tick()
    expect(replica.seq).toBe(3)
    expect(Object.keys((replica.confirmed as Canvas).shapes)).toEqual(['a', 'b', 'c'])
    expect(io.takePublished().map((m) => m.seq)).toEqual([1, 2, 3])
    expect(io.up).toEqual([]) // no gap, no catch-up
    await drain()
    const fragmentEvents = events.changes.filter((c) => c.batch.length > 0)
    expect(fragmentEvents).toHaveLength(1) // one change event for the whole run
    expect(fragmentEvents[0]!.batch.map((f) => (f as { seq: number }).seq)).toEqual([1, 2, 3])
  })

  it('asks its parent to CATCH_UP from its seq on a gap, and fills it when the missing ones arrive', () => {
    const root = makeRoot({ shapes: {} })
    const { io, replica } = makeChild(root.replica)
    const o = newEndpointId()
    replica.receiveSequenced(sequenced(o, 1, 1, [add(['shapes', 'a'], { x: 1 })]))
    replica.receiveSequenced(sequenced(o, 3, 3, [add(['shapes', 'c'], { x: 3 })]))
    io.tick()
    expect(replica.seq).toBe(1)
    expect(replica.hasGap).toBe(true)
    const up = io.takeUp()
    expect(up.map((m) => [m.kind, m.seq, m.doc, m.origin])).toEqual([[Kind.CATCH_UP, 1, DOC, io.self]])
    expect(io.stats.resyncs).toBeGreaterThanOrEqual(1)

    // the parent answers with a FRAGMENTS batch (here: 2 and 3 again)
    const batch = decode(
      encodeMessage({
        kind: Kind.FRAGMENTS,
        origin: root.io.self,
        doc: DOC,
        seq: 3,
        epoch: 1,
        payload: BatchCodec.encode({
          envelopes: [sequenced(o, 2, 2, [add(['shapes', 'b'], { x: 2 })]).raw, sequenced(o, 3, 3, [add(['shapes', 'c'], { x: 3 })]).raw],
        }),
      }),
    )
    replica.receiveSequenced(batch)
    io.tick()
    expect(replica.seq).toBe(3)
    expect(replica.hasGap).toBe(false)
    expect(replica.confirmed).toEqual({ shapes: { a: { x: 1 }, b: { x: 2 }, c: { x: 3 } } })
    expect(io.stats.duplicates).toBe(1) // the second copy of seq 3
  })

  it('ignores sequenced fragments at or below its seq (duplicates)', () => {
    const root = makeRoot({ shapes: {} })
    const { io, replica } = makeChild(root.replica)
    const o = newEndpointId()
    replica.receiveSequenced(sequenced(o, 1, 1, [add(['shapes', 'a'], { x: 1 })]))
    io.tick()
    replica.receiveSequenced(sequenced(o, 1, 1, [add(['shapes', 'a'], { x: 1 })]))
    io.tick()
    expect(replica.seq).toBe(1)
    expect(io.stats.duplicates).toBe(1)
    expect(io.takePublished().map((m) => m.seq)).toEqual([1])
  })

  it('buffers fragments that arrive before the snapshot and drops those the snapshot contains', () => {
    const root = makeRoot({ shapes: {} })
    const o = newEndpointId()
    for (let i = 1; i <= 3; i++) root.replica.sequencer!.accept(unsequenced(o, i, [add(['shapes', `s${i}`], { x: i })]))
    root.io.tick()
    const published = root.io.takePublished()
    const snapshot = decode(root.replica.snapshotMessage()) // at seq 3

    const io = new FakeIO(newEndpointId(), false)
    const replica = new Replica(DOC, io, 100, 1 << 20)
    // subscribed first: 2, 3 and 4 arrive before the snapshot at 3
    root.replica.sequencer!.accept(unsequenced(o, 4, [add(['shapes', 's4'], { x: 4 })]))
    root.io.tick()
    for (const m of [published[1]!, published[2]!, ...root.io.takePublished()]) replica.receiveSequenced(m)
    io.tick()
    expect(replica.ready).toBe(false)
    expect(replica.seq).toBe(0)

    replica.applySnapshot(snapshot.seq, SnapshotCodec.decode(snapshot.payload))
    io.tick()
    expect(replica.seq).toBe(4)
    expect(replica.confirmed).toEqual(root.replica.confirmed)
    expect(replica.hasGap).toBe(false)
    expect(io.up).toEqual([])
  })

  it("acknowledges its own fragment's echo without applying it twice or firing 'change'", async () => {
    const root = makeRoot()
    const child = makeChild(root.replica)
    await drain()
    child.events.changes.length = 0

    const fragment = localChange(child.replica, (d) => {
      d.shapes.a!.x = 10
      d.shapes.n = { x: 0 }
    })
    expect(child.replica.visible).toEqual({ shapes: { a: { x: 10 }, n: { x: 0 } } })
    expect(child.replica.confirmed).toEqual({ shapes: { a: { x: 1 } } })
    expect(child.replica.pending).toHaveLength(1)
    const [up] = child.io.takeUp()
    expect(up).toMatchObject({ kind: Kind.FRAGMENT, seq: 0, clientSeq: 1, origin: child.io.self, doc: DOC })
    await drain()
    expect(child.events.changes).toHaveLength(1) // the local change itself
    expect(child.events.changes[0]!.fragment).toBe(fragment)

    // the root sequences it and publishes it back down
    root.replica.sequencer!.accept(up!)
    root.io.tick()
    const [echo] = root.io.takePublished()
    child.replica.receiveSequenced(echo!)
    child.io.tick()

    expect(await fragment.confirmed).toBe(1)
    expect(fragment.seq).toBe(1)
    expect(child.replica.pending).toEqual([])
    expect(child.replica.seq).toBe(1)
    expect(child.replica.confirmed).toEqual(root.replica.confirmed)
    expect(child.replica.visible).toEqual(child.replica.confirmed)
    await drain()
    expect(child.events.changes).toHaveLength(1) // no event for the echo
  })

  it('rebases pending changes on foreign fragments and keeps them through their own echo', async () => {
    const root = makeRoot()
    const child = makeChild(root.replica)
    const other = newEndpointId()
    const f1 = localChange(child.replica, (d) => {
      d.shapes.mine = { x: 1 }
    })
    const f2 = localChange(child.replica, (d) => {
      d.shapes.mine!.x = 2
    })
    const ups = child.io.takeUp()
    expect(ups.map((m) => m.clientSeq)).toEqual([1, 2])

    // a foreign change is sequenced first, then both of ours
    root.replica.sequencer!.accept(unsequenced(other, 1, [set(['shapes', 'a', 'x'], 5)]))
    root.io.tick()
    const [foreign] = root.io.takePublished()
    child.replica.receiveSequenced(foreign!)
    child.io.tick()
    expect(child.replica.confirmed).toEqual({ shapes: { a: { x: 5 } } })
    expect(child.replica.visible).toEqual({ shapes: { a: { x: 5 }, mine: { x: 2 } } })
    await drain()
    expect(child.events.changes.at(-1)!.fragment).toMatchObject({ origin: other, seq: 1 })
    const before = child.events.changes.length

    for (const m of ups) root.replica.sequencer!.accept(m)
    root.io.tick()
    const echoes = root.io.takePublished()
    child.replica.receiveSequenced(echoes[0]!)
    child.io.tick()
    expect(child.replica.pending.map((p) => p.fragment.clientSeq)).toEqual([2])
    expect(child.replica.visible).toEqual({ shapes: { a: { x: 5 }, mine: { x: 2 } } })
    child.replica.receiveSequenced(echoes[1]!)
    child.io.tick()
    expect(await f1.confirmed).toBe(2)
    expect(await f2.confirmed).toBe(3)
    expect(child.replica.pending).toEqual([])
    expect(child.replica.visible).toEqual(root.replica.confirmed)
    await drain()
    expect(child.events.changes.length).toBe(before)
  })

  it("a rejection rolls the visible state back and emits 'rejected'", async () => {
    const root = makeRoot({ shapes: { gone: { x: 1 }, a: { x: 1 } } })
    const child = makeChild(root.replica)
    const other = newEndpointId()
    // someone removes 'gone' at the root; the child has not seen it yet
    root.replica.sequencer!.accept(unsequenced(other, 1, [remove(['shapes', 'gone'])]))
    root.io.tick()
    const removal = root.io.takePublished()

    const fragment = localChange(child.replica, (d) => {
      d.shapes.gone!.x = 2
    })
    const keep = localChange(child.replica, (d) => {
      d.shapes.a!.x = 3
    })
    expect(child.replica.visible).toEqual({ shapes: { gone: { x: 2 }, a: { x: 3 } } })
    const ups = child.io.takeUp()
    for (const m of ups) root.replica.sequencer!.accept(m)
    root.io.tick()
    // change 1 edits inside what the removal took: the removal wins and change 1 is refused;
    // change 2 was made on top of change 1, so the root asks for it again (not a refusal)
    const [reject, stale] = root.io.takeSent()
    expect(reject!.to).toBe(child.io.self)
    expect(reject!.m).toMatchObject({ kind: Kind.REJECT, clientSeq: 1 })
    expect(RefusalCodec.decode(reject!.m.payload).reason).toMatch(/removed/)
    expect(stale!.m).toMatchObject({ kind: Kind.REJECT, clientSeq: 2, baseSeq: 1 })
    expect(RefusalCodec.decode(stale!.m.payload).code).toBe('ERR_STALE_BASE')
    expect(root.io.takePublished()).toEqual([])

    // the removal arrives first, then the rejection
    for (const m of removal) child.replica.receiveSequenced(m)
    child.io.tick()
    await drain()
    child.events.changes.length = 0
    child.replica.rejected(reject!.m.clientSeq, RefusalCodec.decode(reject!.m.payload).reason)

    await expect(fragment.confirmed).rejects.toBeInstanceOf(ChangeRejectedError)
    expect(child.replica.pending.map((p) => p.fragment.clientSeq)).toEqual([2])
    expect(child.replica.visible).toEqual({ shapes: { a: { x: 3 } } })
    await drain()
    expect(child.events.rejections).toHaveLength(1)
    expect(child.events.rejections[0]!.error).toBeInstanceOf(ChangeRejectedError)
    expect(child.events.rejections[0]!.error.clientSeq).toBe(1)
    expect(child.events.rejections[0]!.fragment).toBe(fragment)
    expect(child.events.changes).toHaveLength(1)
    expect(child.events.changes[0]!.state).toEqual({ shapes: { a: { x: 3 } } })

    // change 2 went again at once, made on seq 1 and knowing change 1 was refused; the stale
    // answer to its first copy changes nothing
    const [again] = child.io.takeUp()
    expect(again).toMatchObject({ kind: Kind.FRAGMENT, clientSeq: 2, baseSeq: 1 })
    const staleRefusal = RefusalCodec.decode(stale!.m.payload)
    child.replica.rejected(2, staleRefusal.reason, staleRefusal.code, stale!.m.seq, stale!.m.baseSeq)
    expect(child.io.takeUp()).toEqual([])
    root.replica.sequencer!.accept(again!)
    root.io.tick()
    for (const m of root.io.takePublished()) child.replica.receiveSequenced(m)
    child.io.tick()
    expect(await keep.confirmed).toBe(2)
    expect(child.replica.visible).toEqual(root.replica.confirmed)
    expect(child.replica.confirmed).toEqual(root.replica.confirmed)
  })

  it('an ACK for a resent duplicate acknowledges the pending change once the replica has its seq', async () => {
    const root = makeRoot()
    const child = makeChild(root.replica)
    const fragment = localChange(child.replica, (d) => {
      d.shapes.a!.x = 8
    })
    const [up] = child.io.takeUp()
    root.replica.sequencer!.accept(up!)
    root.io.tick()
    const [echo] = root.io.takePublished()
    // the resend of the same change is answered with ACK(seq 1)
    root.replica.sequencer!.accept(up!)
    const [ack] = root.io.takeSent()
    expect(ack!.m).toMatchObject({ kind: Kind.ACK, clientSeq: 1, seq: 1 })
    // the echo has not arrived yet: the ACK alone does not settle it
    child.replica.acknowledged(ack!.m.clientSeq, ack!.m.seq)
    expect(child.replica.pending).toHaveLength(1)
    child.replica.receiveSequenced(echo!)
    child.io.tick()
    expect(await fragment.confirmed).toBe(1)
    expect(child.replica.visible).toEqual(root.replica.confirmed)
  })

  it('a snapshot that already contains a pending change asks the root for its verdict and acknowledges it', async () => {
    const root = makeRoot()
    const child = makeChild(root.replica)
    const fragment = localChange(child.replica, (d) => {
      d.shapes.z = { x: 26 }
    })
    root.replica.sequencer!.accept(child.io.takeUp()[0]!)
    root.io.tick()
    // the echo is lost; a snapshot resync later contains the change
    const snap = decode(root.replica.snapshotMessage())
    child.replica.applySnapshot(snap.seq, SnapshotCodec.decode(snap.payload))
    // handled by the root, so out of the visible state at once (not applied twice), but
    // sequenced or refused? The resent copy's answer says (issue 12: never a guessed success).
    expect(child.replica.visible).toEqual(root.replica.confirmed)
    const [resent] = child.io.takeUp()
    expect(resent).toMatchObject({ kind: Kind.FRAGMENT, clientSeq: 1 })
    root.replica.sequencer!.accept(resent!)
    const [ack] = root.io.takeSent()
    expect(ack!.m).toMatchObject({ kind: Kind.ACK, clientSeq: 1, seq: 1 })
    child.replica.acknowledged(ack!.m.clientSeq, ack!.m.seq)
    expect(await fragment.confirmed).toBe(1)
    expect(child.replica.pending).toEqual([])
    expect(child.replica.visible).toEqual(root.replica.confirmed)
    expect(child.replica.nextClientSeq).toBe(2)
  })

  it('a snapshot round-trips presence and state through JSON', () => {
    const root = makeRoot()
    const someone = newEndpointId()
    root.replica.setPresence(someone, { cursor: [1, 2] })
    const child = makeChild(root.replica)
    expect(child.replica.presence.get(someone)).toEqual({ cursor: [1, 2] })
    expect(decodeJson(encodeJson(child.replica.confirmed), 'x')).toEqual(root.replica.confirmed)
  })
})

describe('Replica convergence (root + two children, simulated links)', () => {
  type Op =
    | { t: 'change'; who: number; key: string; value: number | null }
    | { t: 'up'; who: number; n: number }
    | { t: 'tickRoot' }
    | { t: 'down'; who: number; n: number; drop: boolean }
    | { t: 'tickChild'; who: number }

  const who = fc.integer({ min: 0, max: 1 })
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ t: fc.constant('change' as const), who: fc.integer({ min: 0, max: 2 }), key: fc.constantFrom('a', 'b', 'c'), value: fc.option(fc.integer({ min: 0, max: 9 }), { freq: 4 }) }),
    fc.record({ t: fc.constant('up' as const), who, n: fc.integer({ min: 1, max: 3 }) }),
    fc.constant({ t: 'tickRoot' as const }),
    fc.record({ t: fc.constant('down' as const), who, n: fc.integer({ min: 1, max: 3 }), drop: fc.boolean() }),
    fc.record({ t: fc.constant('tickChild' as const), who }),
  )

  it('every replica equals the root once everything is delivered, and every change is sequenced at most once (property)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const root = makeRoot({ shapes: { a: { x: 0 } } })
        const kids = [makeChild(root.replica), makeChild(root.replica)]
        const down: Message[][] = [[], []]
        const replies: Message[][] = [[], []]
        const index = new Map(kids.map((k, i) => [k.io.self, i]))

        const change = (r: Replica, key: string, value: number | null) => {
          const shapes = (r.visible as Canvas).shapes
          if (value === null) {
            if (!(key in shapes)) return
            localChange(r, (d) => {
              delete d.shapes[key]
            })
          } else if (key in shapes && value % 2 === 0) {
            localChange(r, (d) => {
              d.shapes[key]!.x = value // a replace under a key someone may remove meanwhile
            })
          } else {
            localChange(r, (d) => {
              d.shapes[key] = { x: value }
            })
          }
        }
        const toRoot = (m: Message, i: number) => {
          if (m.kind === Kind.FRAGMENT) root.replica.sequencer!.accept(m)
          else if (m.kind === Kind.CATCH_UP) down[i]!.push(decode(root.replica.catchUpMessage(m.seq)))
          else throw new Error(`unexpected ${m.kind} upstream`)
        }
        const tickRoot = () => {
          root.io.tick()
          for (const m of root.io.takePublished()) for (const d of down) d.push(m)
          for (const { to, m } of root.io.takeSent()) replies[index.get(to)!]!.push(m)
        }
        const toChild = (m: Message, i: number) => {
          const r = kids[i]!.replica
          if (m.kind === Kind.SNAPSHOT) r.applySnapshot(m.seq, SnapshotCodec.decode(m.payload))
          else r.receiveSequenced(m)
        }
        const reply = (m: Message, i: number) => {
          const r = kids[i]!.replica
          if (m.kind === Kind.ACK) r.acknowledged(m.clientSeq, m.seq)
          else if (m.kind === Kind.REJECT) {
            const refusal = RefusalCodec.decode(m.payload)
            r.rejected(m.clientSeq, refusal.reason, refusal.code, m.seq, m.baseSeq)
          } else if (m.kind === Kind.RESEND) r.resendPending(0, m.clientSeq)
          else throw new Error(`unexpected reply ${m.kind}`)
        }

        for (const o of ops) {
          if (o.t === 'change') change(o.who === 2 ? root.replica : kids[o.who]!.replica, o.key, o.value)
          else if (o.t === 'up') for (const m of kids[o.who]!.io.up.splice(0, o.n)) toRoot(m, o.who)
          else if (o.t === 'tickRoot') tickRoot()
          else if (o.t === 'down') {
            const batch = down[o.who]!.splice(0, o.n)
            for (const [j, m] of batch.entries()) if (!(o.drop && j === 0 && m.kind === Kind.FRAGMENT)) toChild(m, o.who)
            for (const m of replies[o.who]!.splice(0)) reply(m, o.who)
          } else kids[o.who]!.io.tick()
        }

        // Deliver everything; a heartbeat-like check asks for a catch-up when a child is behind.
        for (let round = 0; round < 50; round++) {
          let moved = false
          for (const [i, k] of kids.entries()) {
            for (const m of k.io.up.splice(0)) (toRoot(m, i), (moved = true))
          }
          if (root.io.deferred.length > 0) moved = true
          tickRoot()
          for (const [i, k] of kids.entries()) {
            for (const m of down[i]!.splice(0)) (toChild(m, i), (moved = true))
            for (const m of replies[i]!.splice(0)) (reply(m, i), (moved = true))
            if (k.io.deferred.length > 0) moved = true
            k.io.tick()
            if (k.replica.seq < root.replica.seq || k.replica.hasGap || !k.replica.ready) {
              if (k.replica.ready) k.replica.requestCatchUp(0)
              moved = true
            }
            if (k.replica.pending.length > 0 && k.io.up.length === 0) {
              k.replica.resendPending(0)
              moved = true
            }
          }
          if (!moved) break
        }

        const expected = root.replica.confirmed
        expect(root.replica.pending).toEqual([])
        expect(root.replica.visible).toEqual(expected)
        for (const k of kids) {
          expect(k.replica.pending).toEqual([])
          expect(k.replica.seq).toBe(root.replica.seq)
          expect(k.replica.confirmed).toEqual(expected)
          expect(k.replica.visible).toEqual(expected)
        }
        const seen = new Set<string>()
        for (const e of root.replica.log.since(0)!) {
          const m = decode(e)
          const id = `${m.origin}:${m.clientSeq}`
          expect(seen.has(id)).toBe(false)
          seen.add(id)
        }
      }),
      { seed: 777, numRuns: 300 },
    )
  })
})
