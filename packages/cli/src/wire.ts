/**
 * The payloads `tail` and `stats` show, decoded with @zinc/core's own codecs and turned into
 * plain display shapes (ids as UUID strings; '?' for a malformed id, so a hostile frame still
 * prints instead of stopping the tool).
 */
import { BatchCodec, HeartbeatCodec, RefusalCodec, RosterCodec } from '@zinc/core'

/** 16 bytes as a UUID string (8-4-4-4-12), or '?' when it is not 16 bytes. */
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

/** The envelopes of a FRAGMENTS message. */
export function decodeBatch(buf: Uint8Array): Uint8Array[] {
  return BatchCodec.decode(buf).envelopes
}

export function decodeHeartbeat(buf: Uint8Array): WireHeartbeat {
  const hb = HeartbeatCodec.decode(buf)
  return {
    heads: hb.heads.map((h) => ({ doc: h.doc, seq: h.seq })),
    rosterVersion: hb.rosterVersion,
    ancestors: hb.ancestors.map((a) => ({ id: uuidOf(a.id), inbound: a.inbound, outbound: a.outbound })),
  }
}

export function decodeRoster(buf: Uint8Array): WireRoster {
  const roster = RosterCodec.decode(buf)
  return {
    version: roster.version,
    members: roster.members.map((m) => ({ id: uuidOf(m.id), inbound: m.inbound, outbound: m.outbound, joinOrder: m.joinOrder, priority: m.priority })),
  }
}

export function decodeRefusal(buf: Uint8Array): WireRefusal {
  const r = RefusalCodec.decode(buf)
  return { code: r.code, reason: r.reason }
}
