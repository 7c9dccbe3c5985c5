/**
 * A minimal read-only protobuf decoder for the few payloads `zinc tail` and `zinc stats`
 * show (Batch, Heartbeat, Roster, Refusal; schema: @zinc/core/proto/zinc.proto).
 *
 * @zinc/core decodes these internally but does not export its payload codecs; rather than
 * deep-importing core's internals or adding protobufjs to the CLI, this reads the wire format
 * directly (varint and length-delimited fields are all these messages use). Every function
 * throws an `Error` saying what is malformed; callers print it as a bad payload.
 */

type Field = { no: number; wire: number; varint?: number; bytes?: Uint8Array }

function* fields(buf: Uint8Array, what: string): Generator<Field> {
  let i = 0
  const varint = (): number => {
    let result = 0
    let mul = 1
    for (let n = 0; n < 10; n++) {
      if (i >= buf.length) throw new Error(`truncated ${what}`)
      const b = buf[i++]!
      result += (b & 0x7f) * mul
      if ((b & 0x80) === 0) return result
      mul *= 128
    }
    throw new Error(`bad varint in ${what}`)
  }
  while (i < buf.length) {
    const key = varint()
    const no = Math.floor(key / 8)
    const wire = key & 7
    if (wire === 0) yield { no, wire, varint: varint() }
    else if (wire === 2) {
      const len = varint()
      if (i + len > buf.length) throw new Error(`truncated ${what}`)
      yield { no, wire, bytes: buf.subarray(i, i + len) }
      i += len
    } else if (wire === 1) i += 8
    else if (wire === 5) i += 4
    else throw new Error(`unsupported wire type ${wire} in ${what}`)
    if (i > buf.length) throw new Error(`truncated ${what}`)
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: false })
const str = (f: Field) => (f.bytes ? utf8.decode(f.bytes) : '')
/** int32 fields carry negative numbers as 10-byte two's complement varints. */
const int32 = (f: Field) => {
  const v = f.varint ?? 0
  return v >= 2 ** 31 ? v - 2 ** 64 : v
}

/** 16 bytes as a UUID string (8-4-4-4-12). */
export function uuidOf(bytes: Uint8Array | undefined): string {
  if (!bytes || bytes.length !== 16) return '?'
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

export interface WireAddress {
  id: string
  inbound: string
  outbound: string
}
export interface WireHeartbeat {
  heads: Array<{ doc: string; seq: number }>
  rosterVersion: number
  ancestors: WireAddress[]
}
export interface WireMember extends WireAddress {
  joinOrder: number
  priority: number
}
export interface WireRoster {
  version: number
  members: WireMember[]
}
export interface WireRefusal {
  code: string
  reason: string
}

function address(buf: Uint8Array): WireAddress {
  const a: WireAddress = { id: '?', inbound: '', outbound: '' }
  for (const f of fields(buf, 'Address')) {
    if (f.no === 1) a.id = uuidOf(f.bytes)
    else if (f.no === 2) a.inbound = str(f)
    else if (f.no === 3) a.outbound = str(f)
  }
  return a
}

/** `Batch { repeated bytes envelopes = 1 }`: the envelopes of a FRAGMENTS message. */
export function decodeBatch(buf: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  for (const f of fields(buf, 'Batch')) if (f.no === 1 && f.bytes) out.push(f.bytes)
  return out
}

export function decodeHeartbeat(buf: Uint8Array): WireHeartbeat {
  const hb: WireHeartbeat = { heads: [], rosterVersion: 0, ancestors: [] }
  for (const f of fields(buf, 'Heartbeat')) {
    if (f.no === 1 && f.bytes) {
      const head = { doc: '', seq: 0 }
      for (const g of fields(f.bytes, 'DocHead')) {
        if (g.no === 1) head.doc = str(g)
        else if (g.no === 2) head.seq = g.varint ?? 0
      }
      hb.heads.push(head)
    } else if (f.no === 2) hb.rosterVersion = f.varint ?? 0
    else if (f.no === 3 && f.bytes) hb.ancestors.push(address(f.bytes))
  }
  return hb
}

export function decodeRoster(buf: Uint8Array): WireRoster {
  const roster: WireRoster = { version: 0, members: [] }
  for (const f of fields(buf, 'Roster')) {
    if (f.no === 1) roster.version = f.varint ?? 0
    else if (f.no === 2 && f.bytes) {
      const m: WireMember = { id: '?', inbound: '', outbound: '', joinOrder: 0, priority: 0 }
      for (const g of fields(f.bytes, 'Member')) {
        if (g.no === 1) m.id = uuidOf(g.bytes)
        else if (g.no === 2) m.inbound = str(g)
        else if (g.no === 3) m.outbound = str(g)
        else if (g.no === 4) m.joinOrder = g.varint ?? 0
        else if (g.no === 5) m.priority = int32(g)
      }
      roster.members.push(m)
    }
  }
  return roster
}

export function decodeRefusal(buf: Uint8Array): WireRefusal {
  const r: WireRefusal = { code: '', reason: '' }
  for (const f of fields(buf, 'Refusal')) {
    if (f.no === 1) r.code = str(f)
    else if (f.no === 2) r.reason = str(f)
  }
  return r
}
