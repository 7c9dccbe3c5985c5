/**
 * The binary records LmdbStorage keeps as LMDB values. Every record is
 *
 *   [kind: u8][format version: u8][crc32 of the body: u32 BE][body…]
 *
 * so a flipped bit anywhere in a value is caught when it is read. Numbers are f64 BE (sequence
 * numbers and clientSeqs fit in 2^53); strings are u16 BE length + UTF-8.
 */
import type { EndpointId, StoredFragment, StoredSnapshot, TreeRecord } from '@zinc/core'
import { crc32 } from './crc32.js'

/** Bumped on any change of keys or records; a store of another version is refused at open. */
export const FORMAT_VERSION = 1
export const FORMAT_NAME = 'zinc-lmdb'

export const KIND_FRAGMENT = 0x46 // 'F'
export const KIND_SNAPSHOT = 0x53 // 'S'
/** A snapshot with its history fingerprint (an f64 after the seq); 'S' records still read. */
export const KIND_SNAPSHOT_WITH_HISTORY = 0x48 // 'H'
export const KIND_DOC = 0x44 // 'D'
export const KIND_MARKER = 0x4d // 'M'
export const KIND_TREE = 0x54 // 'T'

const HEADER = 6
const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** A record that fails verification; the store turns it into StorageCorruptError. */
export class RecordError extends Error {}

class Writer {
  readonly bytes: Uint8Array
  readonly view: DataView
  pos = HEADER
  constructor(size: number, kind: number) {
    this.bytes = new Uint8Array(size)
    this.view = new DataView(this.bytes.buffer)
    this.bytes[0] = kind
    this.bytes[1] = FORMAT_VERSION
  }
  f64(n: number): void {
    this.view.setFloat64(this.pos, n)
    this.pos += 8
  }
  u32(n: number): void {
    this.view.setUint32(this.pos, n)
    this.pos += 4
  }
  str(utf8: Uint8Array): void {
    this.view.setUint16(this.pos, utf8.length)
    this.bytes.set(utf8, this.pos + 2)
    this.pos += 2 + utf8.length
  }
  raw(data: Uint8Array): void {
    this.bytes.set(data, this.pos)
    this.pos += data.length
  }
  finish(): Uint8Array {
    this.view.setUint32(2, crc32(this.bytes.subarray(HEADER)))
    return this.bytes
  }
}

class Reader {
  readonly view: DataView
  pos = HEADER
  constructor(
    readonly bytes: Uint8Array,
    kind: number,
    what: string,
  ) {
    if (bytes.length < HEADER) throw new RecordError(`${what}: record of ${bytes.length} bytes is truncated`)
    if (bytes[0] !== kind) throw new RecordError(`${what}: record kind 0x${bytes[0]!.toString(16)} instead of 0x${kind.toString(16)}`)
    if (bytes[1] !== FORMAT_VERSION) throw new RecordError(`${what}: record format version ${bytes[1]}, this Zinc reads ${FORMAT_VERSION}`)
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const stored = this.view.getUint32(2)
    const actual = crc32(bytes.subarray(HEADER))
    if (stored !== actual) throw new RecordError(`${what}: checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)})`)
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.bytes.length) throw new RecordError(`${what}: record ends early`)
  }
  f64(what: string): number {
    this.need(8, what)
    const n = this.view.getFloat64(this.pos)
    this.pos += 8
    return n
  }
  u32(what: string): number {
    this.need(4, what)
    const n = this.view.getUint32(this.pos)
    this.pos += 4
    return n
  }
  str(what: string): string {
    this.need(2, what)
    const len = this.view.getUint16(this.pos)
    this.need(2 + len, what)
    const s = decoder.decode(this.bytes.subarray(this.pos + 2, this.pos + 2 + len))
    this.pos += 2 + len
    return s
  }
  rest(): Uint8Array {
    // a copy: LMDB may hand out buffers it reuses
    return new Uint8Array(this.bytes.subarray(this.pos))
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0')
}

function utf8(s: string, what: string): Uint8Array {
  const bytes = encoder.encode(s)
  if (bytes.length > 0xffff) throw new RangeError(`${what} is longer than 65535 bytes`)
  return bytes
}

export function encodeFragment(f: StoredFragment): Uint8Array {
  const origin = utf8(f.origin, 'origin')
  const w = new Writer(HEADER + 16 + 2 + origin.length + f.envelope.length, KIND_FRAGMENT)
  w.f64(f.seq)
  w.f64(f.clientSeq)
  w.str(origin)
  w.raw(f.envelope)
  return w.finish()
}

export function decodeFragment(bytes: Uint8Array, expectedSeq: number, what: string): StoredFragment {
  const r = new Reader(bytes, KIND_FRAGMENT, what)
  const seq = r.f64(what)
  if (seq !== expectedSeq) throw new RecordError(`${what}: record holds seq ${seq} under the key of seq ${expectedSeq}`)
  const clientSeq = r.f64(what)
  const origin = r.str(what) as EndpointId
  return { seq, origin, clientSeq, envelope: r.rest() }
}

export function encodeSnapshot(s: StoredSnapshot): Uint8Array {
  const origins = s.clientSeqs.map(([o, c]) => [utf8(o, 'origin'), c] as const)
  const history = s.history !== undefined && s.history !== 0
  const size = HEADER + 8 + (history ? 8 : 0) + 4 + origins.reduce((n, [o]) => n + 2 + o.length + 8, 0) + s.state.length
  const w = new Writer(size, history ? KIND_SNAPSHOT_WITH_HISTORY : KIND_SNAPSHOT)
  w.f64(s.seq)
  if (history) w.f64(s.history!)
  w.u32(origins.length)
  for (const [o, c] of origins) {
    w.str(o)
    w.f64(c)
  }
  w.raw(s.state)
  return w.finish()
}

export function decodeSnapshot(bytes: Uint8Array, what: string): StoredSnapshot {
  const withHistory = bytes[0] === KIND_SNAPSHOT_WITH_HISTORY
  const r = new Reader(bytes, withHistory ? KIND_SNAPSHOT_WITH_HISTORY : KIND_SNAPSHOT, what)
  const seq = r.f64(what)
  const history = withHistory ? r.f64(what) : undefined
  const count = r.u32(what)
  const clientSeqs: Array<readonly [EndpointId, number]> = []
  for (let i = 0; i < count; i++) clientSeqs.push([r.str(what) as EndpointId, r.f64(what)])
  return { seq, state: r.rest(), clientSeqs, ...(history !== undefined ? { history } : {}) }
}

/** Per-document index record: the seq of its newest snapshot (0 = none). */
export function encodeDoc(snapshotSeq: number): Uint8Array {
  const w = new Writer(HEADER + 8, KIND_DOC)
  w.f64(snapshotSeq)
  return w.finish()
}

export function decodeDoc(bytes: Uint8Array, what: string): number {
  return new Reader(bytes, KIND_DOC, what).f64(what)
}

export function encodeMarker(): Uint8Array {
  const body = encoder.encode(JSON.stringify({ format: FORMAT_NAME, version: FORMAT_VERSION }))
  const w = new Writer(HEADER + body.length, KIND_MARKER)
  w.raw(body)
  return w.finish()
}

/** Checks the store's format marker; returns a problem description or undefined when it is fine. */
export function checkMarker(bytes: Uint8Array): string | undefined {
  if (bytes.length >= 2 && bytes[0] === KIND_MARKER && bytes[1] !== FORMAT_VERSION) {
    return `it was written in store format version ${bytes[1]}, and this Zinc reads version ${FORMAT_VERSION}`
  }
  try {
    const r = new Reader(bytes, KIND_MARKER, 'format marker')
    const marker = JSON.parse(new TextDecoder().decode(r.rest())) as { format?: unknown; version?: unknown }
    if (marker.format !== FORMAT_NAME) return `its format marker names "${String(marker.format)}", not ${FORMAT_NAME}`
    return undefined
  } catch (error) {
    return (error as Error).message
  }
}

/** The tree record: its epoch, whether it was the root, and its peers' addresses. */
export function encodeTree(t: TreeRecord): Uint8Array {
  const peers = t.peers.map((p) => [utf8(p.inbound, 'inbound'), utf8(p.outbound, 'outbound')] as const)
  const w = new Writer(HEADER + 8 + 4 + 4 + peers.reduce((n, [a, b]) => n + 4 + a.length + b.length, 0), KIND_TREE)
  w.f64(t.epoch)
  w.u32(t.root ? 1 : 0)
  w.u32(peers.length)
  for (const [a, b] of peers) {
    w.str(a)
    w.str(b)
  }
  return w.finish()
}

export function decodeTree(bytes: Uint8Array, what: string): TreeRecord {
  const r = new Reader(bytes, KIND_TREE, what)
  const epoch = r.f64(what)
  const root = r.u32(what) === 1
  const n = r.u32(what)
  const peers: Array<{ inbound: string; outbound: string }> = []
  for (let i = 0; i < n; i++) peers.push({ inbound: r.str(what), outbound: r.str(what) })
  return { epoch, root, peers }
}
