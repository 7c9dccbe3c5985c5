import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BadFrameError } from '../dist/errors.js'
import { isEndpointId, isValidDocId, newEndpointId, type EndpointId } from '../dist/ids.js'
import { decodeMessage, encodeMessage, schema, type Message, type MessageInit } from '../dist/protocol/codec.js'
import { DOC_KINDS, isKind, Kind, PROTOCOL_VERSION } from '../dist/protocol/kinds.js'

const Envelope = schema.lookupType('zinc.Envelope')
const MAX = 1 << 20

const ORIGIN = '0b6f1e2c-3d4a-4b5c-8d6e-7f8091a2b3c4' as EndpointId
const SENDER = 'f47ac10b-58cc-4372-a567-0e02b2c3d479' as EndpointId
const ORIGIN_BYTES = uuidBytes(ORIGIN)
const SENDER_BYTES = uuidBytes(SENDER)

function uuidBytes(id: string): Uint8Array {
  const hex = id.replace(/-/g, '')
  return Uint8Array.from({ length: 16 }, (_, i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16))
}

/** A valid init for any kind: doc kinds get a doc id, others none. */
function initFor(kind: Kind, extra: Partial<MessageInit> = {}): MessageInit {
  return {
    kind,
    origin: ORIGIN,
    sender: SENDER,
    doc: DOC_KINDS.has(kind) ? ('board-1' as MessageInit['doc']) : '',
    clientSeq: 7,
    seq: 42,
    epoch: 3,
    payload: new Uint8Array([1, 2, 3, 250]),
    appKind: kind === Kind.APP ? 'chat' : '',
    ...extra,
  }
}

/** Encodes an Envelope directly, bypassing encodeMessage's typing, for invalid frames. */
function rawEnvelope(fields: Record<string, unknown>): Uint8Array {
  return Envelope.encode({
    version: PROTOCOL_VERSION,
    kind: Kind.FRAGMENT,
    origin: ORIGIN_BYTES,
    sender: SENDER_BYTES,
    doc: 'board-1',
    ...fields,
  }).finish()
}

/** Protobuf varint of a non-negative bigint. */
function varint(value: bigint): number[] {
  const out: number[] = []
  let v = value
  do {
    let byte = Number(v & 0x7fn)
    v >>= 7n
    if (v > 0n) byte |= 0x80
    out.push(byte)
  } while (v > 0n)
  return out
}

/** Appends a uint64 field (wire type 0); protobuf keeps the last occurrence of a scalar field. */
function withUint64(bytes: Uint8Array, fieldNo: number, value: bigint): Uint8Array {
  return Uint8Array.from([...bytes, ...varint(BigInt(fieldNo << 3)), ...varint(value)])
}

/** A Message with its byte fields as plain arrays (protobufjs hands out Buffers) and without raw. */
function plain(m: Message): Record<string, unknown> {
  const { raw: _raw, encoding, baseSeq, ...rest } = m
  // `encoding` only means something for APP, `baseSeq` for FRAGMENT; both default to 0: compare them only when set.
  return { ...rest, ...(encoding ? { encoding } : {}), ...(baseSeq ? { baseSeq } : {}), payload: [...m.payload] }
}

function expectBadFrame(fn: () => unknown, reason?: RegExp): BadFrameError {
  let caught: unknown
  try {
    fn()
  } catch (error) {
    caught = error
  }
  expect(caught, 'expected a BadFrameError to be thrown').toBeInstanceOf(BadFrameError)
  if (reason) expect((caught as BadFrameError).message).toMatch(reason)
  return caught as BadFrameError
}

const ALL_KINDS = Object.values(Kind) as Kind[]

describe('encodeMessage / decodeMessage round trip', () => {
  it.each(Object.entries(Kind))('round-trips %s', (_name, kind) => {
    const init = initFor(kind)
    const bytes = encodeMessage(init)
    const m = decodeMessage(bytes, MAX)
    expect(plain(m)).toEqual({ version: PROTOCOL_VERSION, ...init, payload: [...init.payload!] })
    expect(m.raw).toBe(bytes)
  })

  it('defaults sender to origin and the optional fields to empty/zero', () => {
    const m = decodeMessage(encodeMessage({ kind: Kind.HEARTBEAT, origin: ORIGIN, epoch: 1 }), MAX)
    expect(m).toMatchObject({ kind: Kind.HEARTBEAT, origin: ORIGIN, sender: ORIGIN, doc: '', clientSeq: 0, seq: 0, epoch: 1, appKind: '' })
    expect(m.payload.byteLength).toBe(0)
  })

  it('keeps an optional valid doc id on endpoint-level kinds', () => {
    const m = decodeMessage(encodeMessage(initFor(Kind.APP, { doc: 'x' as MessageInit['doc'] })), MAX)
    expect(m.doc).toBe('x')
  })

  it('decodes counters up to 2^53 - 1 as plain numbers', () => {
    const n = Number.MAX_SAFE_INTEGER
    const m = decodeMessage(encodeMessage(initFor(Kind.FRAGMENT, { seq: n, clientSeq: n, epoch: n })), MAX)
    expect(m.seq).toBe(n)
    expect(m.clientSeq).toBe(n)
    expect(m.epoch).toBe(n)
    expect(typeof m.seq).toBe('number')
  })

  it('accepts a frame of exactly maxBytes', () => {
    const bytes = encodeMessage(initFor(Kind.FRAGMENT))
    expect(decodeMessage(bytes, bytes.byteLength).kind).toBe(Kind.FRAGMENT)
  })

  it('round-trips arbitrary valid messages (property)', () => {
    const docId = fc.string({ minLength: 1, maxLength: 256 }).filter((s) => isValidDocId(s))
    const counter = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })
    fc.assert(
      fc.property(
        fc.constantFrom(...ALL_KINDS),
        fc.uuid(),
        fc.uuid(),
        docId,
        counter,
        counter,
        counter,
        fc.uint8Array({ maxLength: 64 }),
        fc.string({ maxLength: 20 }),
        (kind, origin, sender, doc, clientSeq, seq, epoch, payload, appKind) => {
          const init: MessageInit = {
            kind,
            origin: origin as EndpointId,
            sender: sender as EndpointId,
            doc: doc as MessageInit['doc'],
            clientSeq,
            seq,
            epoch,
            payload,
            appKind,
          }
          const bytes = encodeMessage(init)
          const m = decodeMessage(bytes, MAX)
          expect(plain(m)).toEqual({ version: PROTOCOL_VERSION, ...init, payload: [...payload] })
          expect(m.raw).toBe(bytes)
        },
      ),
      { seed: 20240601, numRuns: 500 },
    )
  })
})

describe('decodeMessage validation', () => {
  it('rejects a frame that is not binary', () => {
    expectBadFrame(() => decodeMessage('hello' as unknown as Uint8Array, MAX), /not binary/)
    expectBadFrame(() => decodeMessage(new ArrayBuffer(8) as unknown as Uint8Array, MAX), /not binary/)
  })

  it('rejects an empty frame', () => {
    expectBadFrame(() => decodeMessage(new Uint8Array(0), MAX), /empty/)
  })

  it('rejects a frame over maxBytes before decoding it', () => {
    const bytes = encodeMessage(initFor(Kind.FRAGMENT))
    expectBadFrame(() => decodeMessage(bytes, bytes.byteLength - 1), /over maxMessageBytes/)
    // even garbage: the size check comes first
    expectBadFrame(() => decodeMessage(new Uint8Array(100).fill(0xff), 99), /over maxMessageBytes/)
  })

  it('rejects bytes that are not a protobuf Envelope', () => {
    expectBadFrame(() => decodeMessage(new Uint8Array([0xff, 0xff, 0xff, 0xff]), MAX))
  })

  it.each([0, PROTOCOL_VERSION + 1, 7, 0xffffffff])('rejects protocol version %i', (version) => {
    expectBadFrame(() => decodeMessage(rawEnvelope({ version }), MAX), /protocol version/)
  })

  it.each([0, 21, 99, 100_000])('rejects unknown kind %i', (kind) => {
    expectBadFrame(() => decodeMessage(rawEnvelope({ kind }), MAX), /unknown kind/)
  })

  it('rejects a frame without a kind', () => {
    expectBadFrame(() => decodeMessage(rawEnvelope({ kind: undefined }), MAX), /unknown kind/)
  })

  for (const field of ['origin', 'sender'] as const) {
    it.each([0, 1, 15, 17, 32])(`rejects a ${field} of %i bytes`, (n) => {
      const err = expectBadFrame(() => decodeMessage(rawEnvelope({ [field]: new Uint8Array(n).fill(0x42) }), MAX))
      expect(err.message).toMatch(new RegExp(`${field} must be a 16-byte UUID`))
    })
  }

  it.each([...DOC_KINDS].map((k) => [k]))('kind %i rejects a missing or invalid doc id', (kind) => {
    expectBadFrame(() => decodeMessage(rawEnvelope({ kind, doc: undefined }), MAX), /valid document id/)
    expectBadFrame(() => decodeMessage(rawEnvelope({ kind, doc: '' }), MAX), /valid document id/)
    expectBadFrame(() => decodeMessage(rawEnvelope({ kind, doc: 'a\nb' }), MAX), /valid document id/)
    expectBadFrame(() => decodeMessage(rawEnvelope({ kind, doc: 'x\u0000' }), MAX), /valid document id/)
    expectBadFrame(() => decodeMessage(rawEnvelope({ kind, doc: 'x'.repeat(257) }), MAX), /valid document id/)
    expect(decodeMessage(rawEnvelope({ kind, doc: 'x'.repeat(256) }), MAX).doc).toBe('x'.repeat(256))
  })

  it('rejects an invalid doc id on endpoint-level kinds too', () => {
    expectBadFrame(() => decodeMessage(rawEnvelope({ kind: Kind.HEARTBEAT, doc: '\u0001' }), MAX), /invalid document id/)
    expect(decodeMessage(rawEnvelope({ kind: Kind.HEARTBEAT, doc: '' }), MAX).doc).toBe('')
  })

  // Envelope fields: 6 client_seq, 7 seq, 8 epoch (uint64).
  it.each([
    ['clientSeq', 6],
    ['seq', 7],
    ['epoch', 8],
  ] as const)('rejects %s beyond 2^53', (name, fieldNo) => {
    const base = encodeMessage(initFor(Kind.FRAGMENT))
    for (const value of [2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n]) {
      expectBadFrame(() => decodeMessage(withUint64(base, fieldNo, value), MAX), new RegExp(`${name} is beyond 2\\^53`))
    }
    expect(decodeMessage(withUint64(base, fieldNo, 2n ** 53n - 1n), MAX)[name]).toBe(Number.MAX_SAFE_INTEGER)
  })
})

// ---- decoder fuzzing ------------------------------------------------------------------

/**
 * Known bug (reported): codec.ts `uuid()` checks only the length, then ids.ts
 * `endpointIdFromBytes` calls uuid's `stringify`, which throws a TypeError ("Stringified UUID is
 * invalid") for 16 bytes whose version/variant nibbles are not a valid UUID. While that bug is
 * present the fuzzers tolerate exactly that error; once fixed, the check below turns false and
 * the fuzzers become strict on their own.
 */
const NON_UUID_16 = rawEnvelope({ origin: new Uint8Array(16).fill(7) })
const UUID_BUG_PRESENT = (() => {
  try {
    decodeMessage(NON_UUID_16, MAX)
    return false
  } catch (error) {
    return !(error instanceof BadFrameError)
  }
})()

function isKnownUuidBug(error: unknown): boolean {
  return UUID_BUG_PRESENT && error instanceof TypeError && /Stringified UUID is invalid/.test(error.message)
}

/** The fuzz invariant: a valid Message, or a BadFrameError; never anything else. */
function decodesOrBadFrame(bytes: Uint8Array, maxBytes = MAX): void {
  let m: Message
  try {
    m = decodeMessage(bytes, maxBytes)
  } catch (error) {
    if (error instanceof BadFrameError || isKnownUuidBug(error)) return
    throw new Error(`decodeMessage threw ${(error as Error)?.constructor?.name}: ${(error as Error)?.message} for [${[...bytes].join(',')}]`)
  }
  expect(m.version).toBe(PROTOCOL_VERSION)
  expect(isKind(m.kind)).toBe(true)
  expect(isEndpointId(m.origin)).toBe(true)
  expect(isEndpointId(m.sender)).toBe(true)
  if (DOC_KINDS.has(m.kind)) expect(isValidDocId(m.doc)).toBe(true)
  else expect(m.doc === '' || isValidDocId(m.doc)).toBe(true)
  for (const n of [m.clientSeq, m.seq, m.epoch]) expect(Number.isSafeInteger(n) && n >= 0).toBe(true)
  expect(m.payload).toBeInstanceOf(Uint8Array)
  expect(typeof m.appKind).toBe('string')
  expect(m.raw).toBe(bytes)
}

const VALID_ENVELOPES = ALL_KINDS.map((kind) => encodeMessage(initFor(kind, { payload: Uint8Array.from({ length: 24 }, (_, i) => (i * 37) & 0xff), clientSeq: 300, seq: 1_000_000, epoch: 2 })))

describe('decodeMessage fuzzing: a Message or a BadFrameError, never another error', () => {
  // BUG (reported): src/protocol/codec.ts uuid() -> src/ids.ts endpointIdFromBytes -> uuid's
  // stringify() throws a TypeError ("Stringified UUID is invalid") for 16 bytes that are not a
  // valid UUID (e.g. a flipped version or variant bit), instead of a BadFrameError.
  it('16 bytes that are not a valid UUID are a bad frame (BadFrameError)', () => {
    expectBadFrame(() => decodeMessage(NON_UUID_16, MAX))
  })

  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 256 }), (bytes) => decodesOrBadFrame(bytes)),
      { seed: 1337, numRuns: 4000 },
    )
  })

  it('random bytes behind a valid version+kind prefix', () => {
    // 0x08 0x01 = version 1, 0x10 0x0a = kind FRAGMENT: gets the decoder past the first checks.
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 128 }), (tail) => decodesOrBadFrame(Uint8Array.from([0x08, 0x01, 0x10, 0x0a, ...tail]))),
      { seed: 7, numRuns: 3000 },
    )
  })

  it('every prefix of every valid envelope', () => {
    let decoded = 0
    for (const envelope of VALID_ENVELOPES) {
      for (let n = 0; n <= envelope.byteLength; n++) {
        const prefix = envelope.slice(0, n)
        decodesOrBadFrame(prefix)
        try {
          decodeMessage(prefix, MAX)
          decoded++
        } catch {
          /* checked above */
        }
      }
    }
    // at least the full envelopes themselves decode
    expect(decoded).toBeGreaterThanOrEqual(VALID_ENVELOPES.length)
  })

  it('valid envelopes with one to three bits flipped', () => {
    fc.assert(
      fc.property(fc.nat({ max: VALID_ENVELOPES.length - 1 }), fc.array(fc.nat({ max: 1 << 16 }), { minLength: 1, maxLength: 3 }), (which, flips) => {
        const bytes = VALID_ENVELOPES[which]!.slice()
        for (const f of flips) {
          const bit = f % (bytes.byteLength * 8)
          bytes[bit >> 3]! ^= 1 << (bit & 7)
        }
        decodesOrBadFrame(bytes)
      }),
      { seed: 4242, numRuns: 4000 },
    )
  })

  it('valid envelopes with random bytes overwritten, inserted or appended', () => {
    fc.assert(
      fc.property(fc.nat({ max: VALID_ENVELOPES.length - 1 }), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.constantFrom('overwrite', 'insert', 'append'), (which, at, junk, how) => {
        const src = VALID_ENVELOPES[which]!
        const i = at % src.byteLength
        let bytes: Uint8Array
        if (how === 'overwrite') {
          bytes = src.slice()
          bytes.set(junk.slice(0, bytes.byteLength - i), i)
        } else if (how === 'insert') {
          bytes = Uint8Array.from([...src.slice(0, i), ...junk, ...src.slice(i)])
        } else {
          bytes = Uint8Array.from([...src, ...junk])
        }
        decodesOrBadFrame(bytes)
      }),
      { seed: 99, numRuns: 3000 },
    )
  })

  it('structurally random Envelopes (odd versions, kinds, ids, docs, counters)', () => {
    const bytesOf = (lengths: number[]) => fc.oneof(...lengths.map((n) => fc.uint8Array({ minLength: n, maxLength: n })), fc.constant(uuidBytes(newEndpointId())))
    fc.assert(
      fc.property(
        fc.record(
          {
            version: fc.oneof(fc.constant(PROTOCOL_VERSION), fc.nat()),
            kind: fc.oneof(fc.constantFrom(...ALL_KINDS), fc.nat({ max: 40 })),
            origin: bytesOf([0, 15, 16, 17]),
            sender: bytesOf([0, 16]),
            doc: fc.oneof(fc.string({ maxLength: 300 }), fc.constant('board-1'), fc.constant('')),
            clientSeq: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
            seq: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
            epoch: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
            payload: fc.uint8Array({ maxLength: 16 }),
            appKind: fc.string({ maxLength: 8 }),
          },
          { requiredKeys: [] },
        ),
        (fields) => {
          const { clientSeq, seq, epoch, ...rest } = fields
          let bytes = Envelope.encode(rest).finish()
          if (clientSeq !== undefined) bytes = withUint64(bytes, 6, clientSeq)
          if (seq !== undefined) bytes = withUint64(bytes, 7, seq)
          if (epoch !== undefined) bytes = withUint64(bytes, 8, epoch)
          decodesOrBadFrame(bytes)
        },
      ),
      { seed: 2025, numRuns: 3000 },
    )
  })

  it('a smaller maxBytes only ever adds BadFrameErrors', () => {
    fc.assert(
      fc.property(fc.nat({ max: VALID_ENVELOPES.length - 1 }), fc.nat({ max: 200 }), (which, maxBytes) => {
        const bytes = VALID_ENVELOPES[which]!
        if (bytes.byteLength > maxBytes) expectBadFrame(() => decodeMessage(bytes, maxBytes))
        else decodesOrBadFrame(bytes, maxBytes)
      }),
      { seed: 5, numRuns: 1000 },
    )
  })
})

describe('stampSequenced', () => {
  it('decodes like a fresh encoding with the new sender, seq and epoch', async () => {
    const { stampSequenced } = await import('../dist/protocol/codec.js')
    const init = initFor(Kind.FRAGMENT, { seq: 0 })
    const raw = encodeMessage(init)
    const root = 'a8098c1a-f86e-41d4-a716-446655440000' as EndpointId
    const stamped = decodeMessage(stampSequenced(raw, root, 42, 7), MAX)
    const fresh = decodeMessage(encodeMessage({ ...init, sender: root, seq: 42, epoch: 7 }), MAX)
    expect(plain(stamped)).toEqual(plain(fresh))
  })
})
