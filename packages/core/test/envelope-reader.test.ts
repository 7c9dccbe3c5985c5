import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { endpointIdFromBytes, newEndpointId } from '../dist/ids.js'
import { encodeMessage, schema, stampSequenced } from '../dist/protocol/codec.js'
import { readEnvelope } from '../dist/protocol/envelope-reader.js'
import { Kind } from '../dist/protocol/kinds.js'

// The hand-written reader against protobufjs's decoder of the same schema (what decodeMessage
// used before): it refuses what protobufjs refuses, and reads the same fields from the rest,
// except that a counter at or above 2^53 is refused (decodeMessage refused it before too).
const Envelope = schema.lookupType('zinc.Envelope')

type Long = { high: number; low: number; toNumber(): number; unsigned?: boolean }
const num = (v: unknown): number | 'big' => {
  if (v === undefined) return 0
  if (typeof v === 'number') return v
  const l = v as Long
  return l.high >= 0x200000 || l.high < 0 ? 'big' : l.toNumber()
}
const id = (b: unknown): string | undefined => {
  if (!(b instanceof Uint8Array) || b.length !== 16) return undefined
  try {
    return endpointIdFromBytes(b)
  } catch {
    return undefined
  }
}

/** What protobufjs reads, in the reader's terms; undefined if protobufjs refuses the frame. */
function reference(bytes: Uint8Array): Record<string, unknown> | undefined {
  let m: Record<string, unknown>
  try {
    m = Envelope.decode(bytes) as unknown as Record<string, unknown>
  } catch {
    return undefined
  }
  const len = (b: unknown) => (b instanceof Uint8Array ? b.length : 0)
  return {
    version: (m.version as number | undefined) ?? 0,
    kind: ((m.kind as number | undefined) ?? 0) >>> 0,
    origin: id(m.origin),
    originBytes: len(m.origin),
    sender: id(m.sender),
    senderBytes: len(m.sender),
    doc: m.doc ?? '',
    clientSeq: num(m.clientSeq),
    seq: num(m.seq),
    epoch: num(m.epoch),
    payload: m.payload instanceof Uint8Array && m.payload.length > 0 ? [...m.payload] : undefined,
    appKind: m.appKind ?? '',
    encoding: (m.encoding as number | undefined) ?? 0,
    baseSeq: num(m.baseSeq),
  }
}

const BIG = ['clientSeq', 'seq', 'epoch', 'baseSeq']

function check(bytes: Uint8Array): void {
  const want = reference(bytes)
  let got: Record<string, unknown> | undefined
  let error: unknown
  try {
    const env = readEnvelope(bytes)
    got = { ...env, payload: env.payload && env.payload.length > 0 ? [...env.payload] : undefined }
  } catch (e) {
    error = e
  }
  if (want === undefined) {
    expect(got, 'protobufjs refuses this frame').toBeUndefined()
    return
  }
  const big = BIG.filter((k) => want[k] === 'big')
  if (got === undefined) {
    // Refused where protobufjs reads: only for a counter ≥ 2^53 (protobufjs gives a Long).
    expect(big.length > 0, `refused: ${(error as Error).message}`).toBe(true)
    return
  }
  expect(big).toEqual([])
  expect(got).toEqual(want)
}

const ids = [newEndpointId(), newEndpointId(), newEndpointId()]
const validFrame = fc
  .record({
    kind: fc.constantFrom(...Object.values(Kind)),
    origin: fc.constantFrom(...ids),
    sender: fc.constantFrom(...ids),
    doc: fc.string({ maxLength: 80 }),
    clientSeq: fc.nat(),
    seq: fc.maxSafeNat(),
    epoch: fc.nat(1000),
    payload: fc.uint8Array({ maxLength: 200 }),
    appKind: fc.string({ maxLength: 20 }),
    encoding: fc.nat(2),
    baseSeq: fc.maxSafeNat(),
  })
  .map((init) => encodeMessage(init as Parameters<typeof encodeMessage>[0]))

describe('readEnvelope reads what protobufjs reads', () => {
  it('valid envelopes, every field (property)', () => {
    fc.assert(
      fc.property(validFrame, (bytes) => check(bytes)),
      { numRuns: 2000 },
    )
  })

  it('a stamped copy: the last value of a repeated field wins', () => {
    const raw = encodeMessage({ kind: Kind.FRAGMENT, origin: ids[0]!, sender: ids[0]!, doc: 'd' as never, clientSeq: 3, epoch: 1, payload: new Uint8Array([1, 2]) })
    const stamped = stampSequenced(raw, ids[1]!, 2 ** 53 - 1, 7)
    check(stamped)
    expect({ ...readEnvelope(stamped) }).toMatchObject({ sender: ids[1], seq: 2 ** 53 - 1, epoch: 7, clientSeq: 3, origin: ids[0] })
  })

  it('valid envelopes with bytes flipped, overwritten, inserted, cut or appended', () => {
    const mutated = fc
      .tuple(validFrame, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'set', 'insert', 'cut', 'append')), { minLength: 1, maxLength: 4 }))
      .map(([bytes, edits]) => {
        let b = [...bytes]
        for (const [at, value, how] of edits) {
          const i = b.length === 0 ? 0 : at % b.length
          if (how === 'flip') b[i] = b[i]! ^ (1 << (value & 7))
          else if (how === 'set') b[i] = value
          else if (how === 'insert') b.splice(i, 0, value)
          else if (how === 'cut') b = b.slice(0, i)
          else b.push(value)
        }
        return Uint8Array.from(b)
      })
    fc.assert(
      fc.property(mutated, (bytes) => check(bytes)),
      { numRuns: 10000 },
    )
  })

  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => check(bytes)),
      { numRuns: 5000 },
    )
  })

  it('counters at and beyond 2^53, and unknown fields of every skippable wire type', () => {
    const base = [...encodeMessage({ kind: Kind.FRAGMENT, origin: ids[0]!, doc: 'd' as never, epoch: 1 })]
    const seq53 = [7 << 3, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10] // 2^53
    const unknown = [(13 << 3) | 0, 0x96, 0x01, (14 << 3) | 1, 1, 2, 3, 4, 5, 6, 7, 8, (15 << 3) | 2, 2, 9, 9, 0xa5, 0x01 /* field 20, wire 5 */, 1, 2, 3, 4]
    check(Uint8Array.from([...base, ...seq53]))
    expect(() => readEnvelope(Uint8Array.from([...base, ...seq53]))).toThrow(/seq is beyond 2\^53/)
    check(Uint8Array.from([...base, ...unknown]))
    expect(readEnvelope(Uint8Array.from([...base, ...unknown])).kind).toBe(Kind.FRAGMENT)
    // A counter repeated: the last value is the one read, as protobufjs reads it; a big one a
    // later occurrence overrides is not refused (found by the mutation property, seed 1755451852).
    const seq5 = [7 << 3, 5]
    check(Uint8Array.from([...base, ...seq53, ...seq5]))
    expect(readEnvelope(Uint8Array.from([...base, ...seq53, ...seq5])).seq).toBe(5)
    check(Uint8Array.from([...base, ...seq5, ...seq53]))
    expect(() => readEnvelope(Uint8Array.from([...base, ...seq5, ...seq53]))).toThrow(/seq is beyond 2\^53/)
  })

  it('skips groups and known fields of another wire type; keeps a byte order mark; refuses strings that are not UTF-8', () => {
    const base = [...encodeMessage({ kind: Kind.FRAGMENT, origin: ids[0]!, doc: 'd' as never, epoch: 1 })]
    const group = [(13 << 3) | 3, (14 << 3) | 0, 5, (15 << 3) | 3, (1 << 3) | 0, 2, (15 << 3) | 4, (13 << 3) | 4]
    const otherWire = [(7 << 3) | 2, 1, 9, (5 << 3) | 0, 3]
    for (const tail of [group, otherWire]) {
      const bytes = Uint8Array.from([...base, ...tail])
      check(bytes)
      expect(readEnvelope(bytes)).toMatchObject({ kind: Kind.FRAGMENT, doc: 'd', seq: 0 })
    }
    // A leading byte order mark is part of the string (TextDecoder drops it unless told not to).
    const bom = Uint8Array.from([...base, (5 << 3) | 2, 4, 0xef, 0xbb, 0xbf, 0x41])
    check(bom)
    expect(readEnvelope(bom).doc).toBe('\ufeffA')
    const badUtf8 = Uint8Array.from([...base, (5 << 3) | 2, 2, 0xc3, 0x28])
    check(badUtf8)
    expect(() => readEnvelope(badUtf8)).toThrow(/UTF-8/)
  })

  it('gives the same strings and ids for the same bytes, however often they are read', () => {
    const docs = Array.from({ length: 600 }, (_, i) => `doc-${i}`)
    for (let round = 0; round < 3; round++) {
      for (const doc of docs) {
        const env = readEnvelope(encodeMessage({ kind: Kind.OPEN, origin: ids[round]!, doc: doc as never, epoch: 1 }))
        expect(env.doc).toBe(doc)
        expect(env.origin).toBe(ids[round])
      }
    }
  })
})
