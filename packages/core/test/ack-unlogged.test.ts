/**
 * A resent change the root answers with ACK seq 0: it was sequenced, but the root's log no
 * longer holds it (a log bounded by bytes keeps only the last few fragments of a busy
 * document). That seq may still be after ours: the echo can be on its way, or waiting in our
 * inbox, while the answer to the resend overtakes it. The change stays pending until its echo
 * (or a snapshot) comes. Letting it go at once lost a later change: carried over the echo as
 * over another's change, an insert moved twice and was refused past the end of its list
 * (leaf-restart's jump interleavings, seeds 6, 10, 16 and 22, with the root's op history
 * reaching back past its log).
 */
import { describe, expect, it } from 'vitest'
import { Replica } from '../dist/document/replica.js'
import { applyOp, type Op } from '../dist/document/ot.js'
import { newEndpointId, type DocId, type EndpointId } from '../dist/ids.js'
import { encodeMessage, type Message } from '../dist/protocol/codec.js'
import { Kind } from '../dist/protocol/kinds.js'
import { encodeOp } from '../dist/protocol/ops.js'
import { SnapshotCodec } from '../dist/protocol/payloads.js'
import { decode, deliver, drain, FakeIO } from './fake-replica-io.js'

const DOC = 'shared' as DocId
type Doc = { list: string[] }
const insert = (at: number, v: string): Op => ['list', at, { i: v }]

/** Another endpoint's change, made on `baseSeq`. */
const fragment = (origin: EndpointId, clientSeq: number, op: Op, baseSeq: number): Message =>
  decode(encodeMessage({ kind: Kind.FRAGMENT, origin, doc: DOC, clientSeq, baseSeq, epoch: 1, payload: encodeOp(op) }))

describe('a resent change acknowledged with seq 0 (the root no longer logs it)', () => {
  it('stays pending until its echo: the changes made on top of it land where they were made, none refused', async () => {
    // The root logs its last 2 fragments only (its op history reaches further back).
    const rootIO = new FakeIO(newEndpointId(), true)
    const root = new Replica(DOC, rootIO, 2, 1 << 20)
    root.seed({ list: ['a'] })
    root.becomeSequencer()
    const accept = (m: Message) => {
      root.sequencer!.accept(m)
      rootIO.tick()
    }
    const io = new FakeIO(newEndpointId(), false)
    const a = new Replica(DOC, io, 1000, 1 << 20)
    const snap = decode(root.snapshotMessage())
    a.expectSnapshot = true
    a.applySnapshot(snap.seq, SnapshotCodec.decode(snap.payload))
    const b = newEndpointId()

    // A appends x then z (both go up on base 0); B's f, at the start, is sequenced first.
    const x = a.localChange(applyOp(a.visible, insert(1, 'x')), insert(1, 'x'))
    const z = a.localChange(applyOp(a.visible, insert(2, 'z')), insert(2, 'z'))
    accept(fragment(b, 1, insert(0, 'f'), 0))
    for (const m of io.takeUp()) accept(m)
    const echoes = rootIO.takePublished()
    // A hears f: its x and z are rewritten, so y, typed at the end now, waits for their echoes.
    deliver(a, echoes[0]!)
    io.tick()
    expect(a.visible).toEqual({ list: ['f', 'a', 'x', 'z'] })
    const y = a.localChange(applyOp(a.visible, insert(4, 'y')), insert(4, 'y'))
    expect(io.takeUp()).toEqual([])
    // B's g at the start follows: the root's log now holds z and g, no longer x.
    accept(fragment(b, 2, insert(0, 'g'), 3))
    echoes.push(...rootIO.takePublished())

    // A resends x and z (a resend timer); the answers overtake the echoes.
    a.resendPending(0)
    for (const m of io.takeUp()) accept(m)
    const answers = rootIO.takeSent().map(({ m }) => m)
    expect(answers.map((m) => [m.kind, m.clientSeq, m.seq])).toEqual([
      [Kind.ACK, x.clientSeq, 0],
      [Kind.ACK, z.clientSeq, 3],
    ])
    for (const m of answers) deliver(a, m)
    for (const m of echoes.slice(1)) deliver(a, m)
    io.tick()
    for (const m of io.takeUp()) accept(m)
    for (const { m } of rootIO.takeSent()) deliver(a, m)
    for (const m of rootIO.takePublished()) deliver(a, m)
    io.tick()
    await drain()

    expect(a.unsettled).toHaveLength(0)
    await expect(y.confirmed).resolves.toBe(5)
    expect(root.confirmed as Doc).toEqual({ list: ['g', 'f', 'a', 'x', 'z', 'y'] })
    expect(a.visible).toEqual(root.confirmed)
    // Settled by its echo, with its seq.
    await expect(x.confirmed).resolves.toBe(2)
    await expect(z.confirmed).resolves.toBe(3)
  })
})
