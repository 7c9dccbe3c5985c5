/**
 * The document layer reads time only through its ReplicaIO (the endpoint's injected clock), so
 * a replay on a fake clock covers its timers too: resends of unanswered changes, throttled
 * catch-up requests.
 */
import { describe, expect, it } from 'vitest'
import { applyOp, type Op } from '../dist/document/ot.js'
import { Replica } from '../dist/document/replica.js'
import { newEndpointId, type DocId } from '../dist/ids.js'
import { Kind } from '../dist/protocol/kinds.js'
import { SnapshotCodec } from '../dist/protocol/payloads.js'
import { decode, FakeIO, seededRoot } from './fake-replica-io.js'

const DOC = 'doc' as DocId

describe("a replica's timers", () => {
  it('run on the clock its ReplicaIO gives, not the wall clock', () => {
    const { root } = seededRoot(DOC, { n: 0 })
    const io = new FakeIO(newEndpointId(), false)
    io.clock = 1_000_000
    const r = new Replica(DOC, io, 100, 1 << 20)
    const snap = decode(root.snapshotMessage())
    r.applySnapshot(snap.seq, SnapshotCodec.decode(snap.payload))
    const op: Op = ['n', { r: true, i: 1 }]
    r.localChange(applyOp(r.visible, op), op)
    expect(io.takeUp().map((m) => m.kind)).toEqual([Kind.FRAGMENT])

    // Unanswered for 400 ms of its clock: not yet older than 500; at 600 it is resent.
    io.clock += 400
    expect(r.resendPending(500)).toBe(0)
    io.clock += 200
    expect(r.resendPending(500)).toBe(1)
    expect(io.takeUp().map((m) => m.kind)).toEqual([Kind.FRAGMENT])

    // A catch-up request is throttled on the same clock.
    r.requestCatchUp(250)
    r.requestCatchUp(250)
    expect(io.takeUp().map((m) => m.kind)).toEqual([Kind.CATCH_UP])
    io.clock += 300
    r.requestCatchUp(250)
    expect(io.takeUp().map((m) => m.kind)).toEqual([Kind.CATCH_UP])
  })
})
