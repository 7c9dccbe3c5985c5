import { BadFrameError } from '../errors.js'
import { endpointIdFromBytes, type EndpointId } from '../ids.js'

/**
 * An Envelope's fields as they are on the wire (zinc.proto), not yet validated: codec.ts
 * `decodeMessage` checks them. Absent fields have proto3's defaults.
 */
export interface WireEnvelope {
  version: number
  kind: number
  /** The origin's id, if its 16 bytes are a valid UUID; else undefined and `originBytes` says how many there were. */
  origin: EndpointId | undefined
  originBytes: number
  sender: EndpointId | undefined
  senderBytes: number
  doc: string
  clientSeq: number
  seq: number
  epoch: number
  payload: Uint8Array | undefined
  appKind: string
  encoding: number
  baseSeq: number
}

/**
 * Reads one Envelope by hand (throws an Error saying what is malformed, a BadFrameError for a
 * counter at or above 2^53): what protobufjs's generated decoder does for this one message,
 * without its allocations. Every message a process receives, and every fragment of every
 * FRAGMENTS batch, goes through here; protobufjs made an object, three Buffer views and two
 * 36-character id strings for each (~1.2 µs a fragment). Here the ids and the document id are
 * interned: a process sees a handful of distinct ones, so each is built (and its UUID checked)
 * once and then found by its bytes. `payload` is a view into `bytes`, as protobufjs gives.
 *
 * It accepts and refuses what protobufjs 8 does (envelope-reader.test.ts compares them on
 * random and mutated frames): varints of at most 10 bytes, tags and lengths of at most 5, no
 * field 0, strings that are UTF-8, unknown fields and groups skipped, the last value of a
 * repeated field kept; uint64 counters at or above 2^53 are refused, as decodeMessage did.
 *
 * The object returned is the same for every call, valid until the next one: copy what you keep.
 */
export function readEnvelope(bytes: Uint8Array): WireEnvelope {
  // One object for every call (reading is synchronous): the caller copies what it keeps.
  const env = scratch
  env.version = env.kind = env.originBytes = env.senderBytes = env.clientSeq = env.seq = env.epoch = env.encoding = env.baseSeq = 0
  env.origin = env.sender = env.payload = undefined
  env.doc = env.appKind = ''
  buf = bytes
  pos = 0
  end = bytes.length
  while (pos < end) {
    const t = tag()
    const field = t >>> 3
    const wire = t & 7
    if (FIELD_WIRE[field] !== wire) {
      skip(wire, field, 0)
      continue
    }
    // A length-delimited field's bytes: buf[start, start + n), already stepped over.
    let start = 0
    let n = 0
    if (wire === 2) {
      n = length()
      start = pos
      pos += n
    }
    switch (field) {
      case 1:
        env.version = varint32()
        break
      case 2:
        env.kind = varint32()
        break
      case 3:
        env.origin = ids.get(buf, start, n)
        env.originBytes = n
        break
      case 4:
        env.sender = ids.get(buf, start, n)
        env.senderBytes = n
        break
      case 5:
        env.doc = strings.get(buf, start, n)
        break
      case 6:
        env.clientSeq = varint53()
        break
      case 7:
        env.seq = varint53()
        break
      case 8:
        env.epoch = varint53()
        break
      case 9:
        env.payload = n > 0 ? buf.subarray(start, start + n) : undefined
        break
      case 10:
        env.appKind = strings.get(buf, start, n)
        break
      case 11:
        env.encoding = varint32()
        break
      case 12:
        env.baseSeq = varint53()
        break
    }
  }
  buf = EMPTY // not kept alive by the reader
  // A counter is refused when its value — the last one, a repeated field being read last-wins as
  // protobufjs reads it — is 2^53 or more (an earlier, bigger one the frame overrides is not).
  if (env.clientSeq === BIG) throw new BadFrameError('clientSeq is beyond 2^53')
  if (env.seq === BIG) throw new BadFrameError('seq is beyond 2^53')
  if (env.epoch === BIG) throw new BadFrameError('epoch is beyond 2^53')
  if (env.baseSeq === BIG) throw new BadFrameError('baseSeq is beyond 2^53')
  return env
}

/** What varint53 reads for a counter at or beyond 2^53 (refused once the whole frame is read). */
const BIG = -1

const scratch: WireEnvelope = {
  version: 0,
  kind: 0,
  origin: undefined,
  originBytes: 0,
  sender: undefined,
  senderBytes: 0,
  doc: '',
  clientSeq: 0,
  seq: 0,
  epoch: 0,
  payload: undefined,
  appKind: '',
  encoding: 0,
  baseSeq: 0,
}

// The frame being read (one at a time: reading never awaits), so the helpers below are plain functions.
const EMPTY = new Uint8Array(0)
let buf: Uint8Array = EMPTY
let pos = 0
let end = 0

function byte(): number {
  if (pos >= end) throw new Error('a varint runs past the end of the frame')
  return buf[pos++]!
}
// protobufjs's uint32(): the low 32 bits of a varint of at most 10 bytes.
function varint32(): number {
  let value = 0
  for (let i = 0; i < 10; i++) {
    const b = byte()
    if (i < 5) value |= (b & (i < 4 ? 0x7f : 0x0f)) << (7 * i)
    if (b < 0x80) return value >>> 0
  }
  throw new Error('a varint is longer than 10 bytes')
}
// A tag or a length: at most 5 bytes, within 32 bits (tags) or 31 bits (lengths), as protobufjs.
function short(maxLast: number, what: string): number {
  let value = 0
  for (let i = 0; i < 5; i++) {
    const b = byte()
    if (i === 4 && b > maxLast) throw new Error(`invalid ${what} encoding`)
    value |= (b & 0x7f) << (7 * i)
    if (b < 0x80) return value >>> 0
  }
  throw new Error(`invalid ${what} encoding`)
}
// A uint64 as protobufjs reads it (10 bytes at most, the bits past 64 dropped); BIG from 2^53 on.
function varint53(): number {
  let b = byte()
  if (b < 0x80) return b
  let lo = b & 0x7f
  for (let shift = 7; shift < 28; shift += 7) {
    b = byte()
    lo |= (b & 0x7f) << shift
    if (b < 0x80) return lo
  }
  b = byte()
  lo = (lo | ((b & 0x0f) << 28)) >>> 0
  let hi = (b & 0x7f) >> 4
  for (let shift = 3; b >= 0x80; shift += 7) {
    if (shift > 31) throw new Error('a varint is longer than 10 bytes')
    b = byte()
    hi = (hi | ((b & 0x7f) << shift)) >>> 0
  }
  if (hi >= 0x200000) return BIG // refused after the frame, unless a later occurrence overrides it
  return hi * 0x100000000 + lo
}
function length(): number {
  const n = short(7, 'length')
  if (n > end - pos) throw new Error(`a field of ${n} bytes runs past the end of the frame`)
  return n
}
function tag(): number {
  const t = short(15, 'tag')
  if (t >>> 3 === 0) throw new Error('field number 0')
  return t
}
// An unknown field (a newer peer's), or a known one with another wire type: skipped, as protobufjs does.
function skip(wire: number, field: number, depth: number): void {
  if (wire === 0) while (byte() & 0x80);
  else if (wire === 2) {
    const n = length()
    pos += n
  } else if (wire === 1 || wire === 5) {
    const n = wire === 1 ? 8 : 4
    if (n > end - pos) throw new Error(`field ${field} runs past the end of the frame`)
    pos += n
  } else if (wire === 3) {
    if (depth >= 100) throw new Error('groups nested too deep')
    for (;;) {
      const t = tag()
      if ((t & 7) === 4) {
        if (t >>> 3 !== field) throw new Error('invalid end group tag')
        return
      }
      skip(t & 7, t >>> 3, depth + 1)
    }
  } else throw new Error(`invalid wire type ${wire}`)
}

// The wire type of each known field: 0 varint, 2 length-delimited.
const FIELD_WIRE: Array<number | undefined> = [undefined, 0, 0, 2, 2, 2, 0, 0, 0, 2, 2, 0, 0]

// fatal: a string that is not UTF-8 is a bad frame, as protobufjs's stringVerify has it.
// ignoreBOM: a leading U+FEFF is part of the string (TextDecoder drops it by default).
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Values made from short byte strings, found again by their bytes: a 256-slot table, a slot
 * by hash of the bytes, the bytes compared in full on a hit. A miss makes the value (which may
 * throw: then nothing is kept) and takes the slot.
 */
class Interned<T> {
  readonly #keys: Array<Uint8Array | undefined> = new Array<Uint8Array | undefined>(256).fill(undefined)
  readonly #values: T[] = []
  readonly #make: (bytes: Uint8Array) => T
  readonly #maxBytes: number

  constructor(maxBytes: number, make: (bytes: Uint8Array) => T) {
    this.#maxBytes = maxBytes
    this.#make = make
  }

  get(bytes: Uint8Array, start: number, n: number): T {
    if (n > this.#maxBytes) return this.#make(bytes.subarray(start, start + n))
    let h = 0x811c9dc5
    for (let i = start; i < start + n; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193)
    const slot = (h ^ (h >>> 8) ^ (h >>> 16) ^ (h >>> 24)) & 255
    const key = this.#keys[slot]
    if (key !== undefined && key.length === n) {
      let i = 0
      while (i < n && key[i] === bytes[start + i]) i++
      if (i === n) return this.#values[slot]!
    }
    const view = bytes.subarray(start, start + n)
    const value = this.#make(view)
    this.#keys[slot] = Uint8Array.prototype.slice.call(view)
    this.#values[slot] = value
    return value
  }
}

/** Ids: undefined for anything but a 16-byte UUID (codec.ts says which). */
const ids = new Interned<EndpointId | undefined>(16, (view) => {
  if (view.length !== 16) return undefined
  try {
    return endpointIdFromBytes(view)
  } catch {
    return undefined
  }
})
const strings = new Interned<string>(64, (view) => {
  try {
    return utf8.decode(view)
  } catch {
    throw new Error('a string field is not valid UTF-8')
  }
})
