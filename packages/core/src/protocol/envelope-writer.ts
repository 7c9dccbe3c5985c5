/** The fields of an Envelope as written: the ids already as their 16 bytes. */
export interface EnvelopeFields {
  version: number
  kind: number
  origin: Uint8Array
  sender: Uint8Array
  doc: string
  clientSeq: number
  seq: number
  epoch: number
  payload: Uint8Array
  appKind: string
  encoding: number
  baseSeq: number
}

/**
 * Writes one Envelope by hand, byte for byte what protobufjs's encoder of zinc.proto writes
 * (fields in order, proto3 defaults left out, `kind` as an int32, counters as uint64 from a
 * number as protobufjs converts them): envelope-writer.test.ts compares the two. Every message
 * a process sends is encoded here; protobufjs built a list of write operations and a Writer
 * for each (~0.7 µs). The result is a Buffer where there is one (protobufjs gave a Buffer in
 * Node too), else a Uint8Array.
 *
 * A string with a lone surrogate (not valid UTF-16) is written with U+FFFD in its place, as
 * Node's Buffer does (protobufjs did so for long strings and wrote invalid UTF-8 for short ones).
 */
export function writeEnvelope(f: EnvelopeFields): Uint8Array {
  const doc = utf8(f.doc)
  const appKind = utf8(f.appKind)
  let size = 0
  if (f.version !== 0) size += 1 + varintSize(f.version >>> 0)
  const kind = f.kind | 0 // protobufjs's int32 takes the value | 0
  if (f.kind !== 0) size += 1 + (kind < 0 ? 10 : varintSize(kind))
  if (f.origin.length) size += 1 + varintSize(f.origin.length) + f.origin.length
  if (f.sender.length) size += 1 + varintSize(f.sender.length) + f.sender.length
  if (doc.length) size += 1 + varintSize(doc.length) + doc.length
  if (f.clientSeq !== 0) size += 1 + uint64Size(f.clientSeq)
  if (f.seq !== 0) size += 1 + uint64Size(f.seq)
  if (f.epoch !== 0) size += 1 + uint64Size(f.epoch)
  if (f.payload.length) size += 1 + varintSize(f.payload.length) + f.payload.length
  if (appKind.length) size += 1 + varintSize(appKind.length) + appKind.length
  if (f.encoding !== 0) size += 1 + varintSize(f.encoding >>> 0)
  if (f.baseSeq !== 0) size += 1 + uint64Size(f.baseSeq)

  out = alloc(size)
  at = 0
  if (f.version !== 0) {
    out[at++] = 8
    varint(f.version >>> 0)
  }
  if (f.kind !== 0) {
    out[at++] = 16
    // protobufjs's int32: a negative value as a 10-byte uint64
    if (kind < 0) varint64(kind >>> 0, 0xffffffff)
    else varint(kind)
  }
  if (f.origin.length) bytes(26, f.origin)
  if (f.sender.length) bytes(34, f.sender)
  if (doc.length) bytes(42, doc)
  if (f.clientSeq !== 0) uint64(48, f.clientSeq)
  if (f.seq !== 0) uint64(56, f.seq)
  if (f.epoch !== 0) uint64(64, f.epoch)
  if (f.payload.length) bytes(74, f.payload)
  if (appKind.length) bytes(82, appKind)
  if (f.encoding !== 0) {
    out[at++] = 88
    varint(f.encoding >>> 0)
  }
  if (f.baseSeq !== 0) uint64(96, f.baseSeq)
  const done = out
  out = EMPTY
  return done
}

/**
 * `raw` (an encoded Envelope) with `sender`, `seq` and `epoch` written after it (codec.ts
 * `stampSequenced`): what protobufjs's Writer wrote for those three fields, the counters even
 * when 0 (envelope-writer.test.ts compares them).
 */
export function writeStamped(raw: Uint8Array, sender: Uint8Array, seq: number, epoch: number): Uint8Array {
  // A plain Uint8Array, as before (not a Buffer: its slice() would be a view, not a copy).
  out = new Uint8Array(raw.length + 3 + varintSize(sender.length) + sender.length + uint64Size(seq) + uint64Size(epoch))
  out.set(raw, 0)
  at = raw.length
  bytes(34, sender)
  uint64(56, seq)
  uint64(64, epoch)
  const done = out
  out = EMPTY
  return done
}

/**
 * A Batch payload (`repeated bytes envelopes = 1`, no `history`), byte for byte what protobufjs
 * writes (envelope-writer.test.ts compares them): the root publishes one per run of more than
 * one fragment, under load a hundred envelopes at a time, for which protobufjs built a list of
 * write operations per envelope.
 */
export function writeBatch(envelopes: readonly Uint8Array[]): Uint8Array {
  let size = 0
  for (let i = 0; i < envelopes.length; i++) size += 1 + varintSize(envelopes[i]!.length) + envelopes[i]!.length
  out = alloc(size)
  at = 0
  for (let i = 0; i < envelopes.length; i++) bytes(10, envelopes[i]!)
  const done = out
  out = EMPTY
  return done
}

const EMPTY = new Uint8Array(0)
const NodeBuffer = (globalThis as { Buffer?: { allocUnsafe(n: number): Uint8Array } }).Buffer
const alloc = (n: number): Uint8Array => (NodeBuffer ? NodeBuffer.allocUnsafe(n) : new Uint8Array(n))

// The buffer being written (synchronously, one at a time).
let out: Uint8Array = EMPTY
let at = 0

const encoder = new TextEncoder()
/** A string's UTF-8 bytes; an ASCII string (ids, kinds) without going through TextEncoder. */
function utf8(s: string): Uint8Array {
  if (s.length === 0) return EMPTY
  if (s.length <= 64) {
    let ascii = true
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) >= 0x80) {
        ascii = false
        break
      }
    }
    if (ascii) {
      const b = new Uint8Array(s.length)
      for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i)
      return b
    }
  }
  return encoder.encode(s)
}

const varintSize = (v: number): number => (v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5)

/** protobufjs's LongBits.fromNumber: the low and high 32 bits of a number as a uint64. */
function longBits(value: number): [number, number] {
  if (value === 0) return [0, 0]
  const sign = value < 0
  if (sign) value = -value
  let lo = value >>> 0
  let hi = ((value - lo) / 4294967296) >>> 0
  if (sign) {
    hi = ~hi >>> 0
    lo = ~lo >>> 0
    if (++lo > 4294967295) {
      lo = 0
      if (++hi > 4294967295) hi = 0
    }
  }
  return [lo, hi]
}

function uint64Size(value: number): number {
  if (value >= 0 && value < 0x10000000 && Number.isInteger(value)) return varintSize(value)
  const [lo, hi] = longBits(value)
  if (hi === 0) return varintSize(lo)
  // protobufjs's LongBits.length
  const part0 = lo
  const part1 = ((lo >>> 28) | (hi << 4)) >>> 0
  const part2 = hi >>> 24
  return part2 === 0 ? (part1 === 0 ? (part0 < 16384 ? (part0 < 128 ? 1 : 2) : part0 < 2097152 ? 3 : 4) : part1 < 16384 ? (part1 < 128 ? 5 : 6) : part1 < 2097152 ? 7 : 8) : part2 < 128 ? 9 : 10
}

function varint(v: number): void {
  while (v > 0x7f) {
    out[at++] = (v & 0x7f) | 0x80
    v >>>= 7
  }
  out[at++] = v
}

function varint64(lo: number, hi: number): void {
  while (hi) {
    out[at++] = (lo & 0x7f) | 0x80
    lo = ((lo >>> 7) | (hi << 25)) >>> 0
    hi >>>= 7
  }
  varint(lo)
}

function uint64(tag: number, value: number): void {
  out[at++] = tag
  if (value >= 0 && value < 0x10000000 && Number.isInteger(value)) varint(value)
  else {
    const [lo, hi] = longBits(value)
    varint64(lo, hi)
  }
}

function bytes(tag: number, b: Uint8Array): void {
  out[at++] = tag
  varint(b.length)
  out.set(b, at)
  at += b.length
}
