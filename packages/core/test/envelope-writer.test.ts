import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { newEndpointId, endpointIdToBytes } from '../dist/ids.js'
import { schema } from '../dist/protocol/codec.js'
import { writeBatch, writeEnvelope, writeStamped, type EnvelopeFields } from '../dist/protocol/envelope-writer.js'
import { Kind } from '../dist/protocol/kinds.js'

// The hand-written writer against protobufjs's encoder of the same schema (what encodeMessage
// used before): the same bytes, for ordinary and odd values alike.
const Envelope = schema.lookupType('zinc.Envelope')
const reference = (f: EnvelopeFields): number[] => [...Envelope.encode(f as unknown as Record<string, unknown>).finish()]

const ids = [newEndpointId(), newEndpointId()].map((id) => endpointIdToBytes(id))
// Strings without lone surrogates: their UTF-8 is the same whoever writes it.
const text = fc.string({ unit: 'grapheme', maxLength: 80 })
const counter = fc.oneof(
  fc.constant(0),
  fc.nat(),
  fc.maxSafeNat(),
  fc.integer({ min: -(2 ** 40), max: -1 }),
  fc.double({ noNaN: true, min: -(2 ** 70), max: 2 ** 70 }),
  fc.constantFrom(2 ** 53, 2 ** 64 - 2 ** 12, 1.5, -0, 0x0fffffff, 0x10000000),
)
const small = fc.oneof(fc.constant(0), fc.nat(300), fc.constantFrom(...Object.values(Kind)), fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }))

const fields: fc.Arbitrary<EnvelopeFields> = fc.record({
  version: small,
  kind: small,
  origin: fc.oneof(fc.constantFrom(...ids), fc.uint8Array({ maxLength: 20 })),
  sender: fc.oneof(fc.constantFrom(...ids), fc.uint8Array({ maxLength: 20 })),
  doc: text,
  clientSeq: counter,
  seq: counter,
  epoch: counter,
  payload: fc.uint8Array({ maxLength: 300 }),
  appKind: text,
  encoding: small,
  baseSeq: counter,
})

/** A HELLO from ids[0] at epoch 1, with `over` replacing fields. */
const fieldsWith = (over: Partial<EnvelopeFields>): EnvelopeFields => ({
  version: 1,
  kind: Kind.HELLO,
  origin: ids[0]!,
  sender: ids[0]!,
  doc: '',
  clientSeq: 0,
  seq: 0,
  epoch: 1,
  payload: new Uint8Array(0),
  appKind: '',
  encoding: 0,
  baseSeq: 0,
  ...over,
})

describe('writeEnvelope writes what protobufjs writes', () => {
  it('the same bytes for random fields, odd numbers included (property)', () => {
    fc.assert(
      fc.property(fields, (f) => {
        expect([...writeEnvelope(f)]).toEqual(reference(f))
      }),
      { numRuns: 5000 },
    )
  })

  it('a long payload and long non-ASCII strings', () => {
    const f = fieldsWith({
      kind: Kind.FRAGMENT,
      sender: ids[1]!,
      doc: 'ü'.repeat(300),
      clientSeq: 7,
      seq: 2 ** 53 - 1,
      payload: new Uint8Array(70_000).fill(7),
      appKind: '日本'.repeat(50),
      encoding: 2,
      baseSeq: 1,
    })
    expect([...writeEnvelope(f)]).toEqual(reference(f))
  })

  it('gives a Buffer in Node, as protobufjs did', () => {
    expect(Buffer.isBuffer(writeEnvelope(fieldsWith({})))).toBe(true)
  })
})

describe('writeStamped writes what protobufjs wrote for a stamp', () => {
  it('the same bytes as the Writer calls stampSequenced made (property)', async () => {
    const protobuf = (await import('protobufjs')).default
    const old = (raw: Uint8Array, sender: Uint8Array, seq: number, epoch: number): number[] => {
      const tail = protobuf.Writer.create()
        .uint32((4 << 3) | 2)
        .bytes(sender)
        .uint32(7 << 3)
        .uint64(seq)
        .uint32(8 << 3)
        .uint64(epoch)
        .finish()
      return [...raw, ...tail]
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(...ids), counter, counter, (raw, sender, seq, epoch) => {
        const stamped = writeStamped(raw, sender, seq, epoch)
        expect([...stamped]).toEqual(old(raw, sender, seq, epoch))
        expect(Buffer.isBuffer(stamped)).toBe(false)
      }),
      { numRuns: 3000 },
    )
  })
})

describe('writeBatch writes what protobufjs writes for a Batch', () => {
  it('the same bytes as BatchCodec.encode for random envelope lists (property)', () => {
    const Batch = schema.lookupType('zinc.Batch')
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), (envelopes) => {
        expect([...writeBatch(envelopes)]).toEqual([...Batch.encode({ envelopes }).finish()])
      }),
      { numRuns: 2000 },
    )
    const big = [new Uint8Array(70_000).fill(7), new Uint8Array(0), new Uint8Array(3)]
    expect([...writeBatch(big)]).toEqual([...Batch.encode({ envelopes: big }).finish()])
  })
})
