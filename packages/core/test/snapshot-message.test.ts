import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeMessage, encodeMessage } from '../dist/protocol/codec.js'
import { newEndpointId, endpointIdToBytes, type DocId } from '../dist/ids.js'
import { Kind } from '../dist/protocol/kinds.js'
import { SnapshotCodec, type Snapshot } from '../dist/protocol/payloads.js'
import { encodeSnapshotMessage, type SnapshotHead } from '../dist/protocol/snapshot-message.js'

// The one-allocation writer against what replica.snapshotMessage wrote before: protobufjs's
// Snapshot encoder, then the envelope around it.
const reference = (head: SnapshotHead, snapshot: Snapshot): Uint8Array =>
  encodeMessage({ kind: Kind.SNAPSHOT, origin: head.origin, doc: head.doc, seq: head.seq, epoch: head.epoch, payload: SnapshotCodec.encode(snapshot) })

const ids = [newEndpointId(), newEndpointId(), newEndpointId()]
const counter = fc.oneof(fc.constant(0), fc.nat(), fc.maxSafeNat(), fc.constantFrom(127, 128, 16383, 16384, 2 ** 32, 2 ** 53 - 1))
const head: fc.Arbitrary<SnapshotHead> = fc.record({
  origin: fc.constantFrom(...ids),
  doc: fc.constantFrom('d', 'a-longer/document.id', 'x'.repeat(100)) as fc.Arbitrary<DocId>,
  seq: counter,
  epoch: counter,
})
// State lengths around the varint boundaries (1, 2 and 3 length bytes) as well as small ones.
const state = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.constantFrom(0, 127, 128, 16383, 16384, 2 ** 21 + 5).map((n) => new Uint8Array(n).fill(0x61)),
)
const snapshot: fc.Arbitrary<Snapshot> = fc.record({
  state,
  clientSeqs: fc.array(fc.record({ origin: fc.constantFrom(...ids).map(endpointIdToBytes), clientSeq: counter }), { maxLength: 4 }),
  presence: fc.array(fc.record({ origin: fc.constantFrom(...ids).map(endpointIdToBytes), value: fc.uint8Array({ maxLength: 40 }) }), { maxLength: 4 }),
  history: fc.oneof(fc.constant(undefined), counter),
})

describe('encodeSnapshotMessage', () => {
  it('writes the same bytes as protobufjs and the envelope writer did', () => {
    fc.assert(
      fc.property(head, snapshot, (h, s) => {
        expect(Buffer.from(encodeSnapshotMessage(h, s)).equals(Buffer.from(reference(h, s)))).toBe(true)
      }),
      { numRuns: 300 },
    )
  })

  it('decodes to the same snapshot, its state a view of the received bytes (no copy on the way in)', () => {
    const h: SnapshotHead = { origin: ids[0]!, doc: 'doc' as DocId, seq: 42, epoch: 3 }
    const s: Snapshot = { state: new TextEncoder().encode(JSON.stringify({ big: 'y'.repeat(200_000) })), clientSeqs: [{ origin: endpointIdToBytes(ids[1]!), clientSeq: 7 }], presence: [], history: 99 }
    const m = decodeMessage(encodeSnapshotMessage(h, s), Infinity)
    expect([m.kind, m.origin, m.doc, m.seq, m.epoch]).toEqual([Kind.SNAPSHOT, h.origin, h.doc, 42, 3])
    const back = SnapshotCodec.decode(m.payload)
    expect(back.state.buffer).toBe(m.raw.buffer)
    expect(Buffer.from(back.state).equals(Buffer.from(s.state))).toBe(true)
    expect(back.clientSeqs.map((c) => c.clientSeq)).toEqual([7])
    expect(back.history).toBe(99)
  })
})
