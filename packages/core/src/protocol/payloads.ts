import type protobuf from 'protobufjs'
import { BadFrameError } from '../errors.js'
import { schema } from './codec.js'

/**
 * Typed encode/decode of the kind-specific payloads. Decoding validates required fields and
 * throws `BadFrameError` on anything malformed.
 */

export interface AddressInfo {
  id: Uint8Array
  inbound: string
  outbound: string
}
export interface DocHead {
  doc: string
  seq: number
  /** In HELLO: the history fingerprint at `seq` (document/history-chain.ts); 0 or absent: unknown. */
  history?: number
  /** In HELLO: the epoch the fragment at `seq` was sequenced in; 0 or absent: unknown. */
  epoch?: number
}
/** The payload of HELLO messages (see PROTOCOL.md). */
export interface Hello {
  token: string
  inbound: string
  outbound: string
  priority: number
  docs: DocHead[]
  ancestry: Uint8Array[]
  /** Random per process; the same id with another incarnation is a restarted process. */
  incarnation?: number
  /** The joiner's peerTimeoutMs: its parent's idle heartbeats come often enough for it (0 or absent: unknown). */
  peerTimeoutMs?: number
}
/** The payload of WELCOME messages (see PROTOCOL.md). */
export interface Welcome {
  ancestors: AddressInfo[]
  rosterVersion: number
  /** The parent's peerTimeoutMs: the child's idle heartbeats come often enough for it (0 or absent: unknown). */
  peerTimeoutMs?: number
}
/** The payload of REFUSE messages (see PROTOCOL.md). */
export interface Refusal {
  code: string
  reason: string
  /** ERR_BUSY: when to try again. */
  retryAfterMs?: number
  /**
   * ERR_STALE_BASE: 1 + the base seq of the copy this answers (0 or absent: not said, an older
   * peer). An origin may have sent the change again since; it tells its copies apart by base.
   */
  answered?: number
}
/** The payload of HEARTBEAT messages (see PROTOCOL.md). */
export interface Heartbeat {
  heads: DocHead[]
  rosterVersion: number
  ancestors: AddressInfo[]
  /** Upward only: endpoints in the sender's subtree, itself included (0 or absent: just itself). */
  subtree?: number
}
export interface Member {
  id: Uint8Array
  inbound: string
  outbound: string
  joinOrder: number
  priority: number
}
/** The payload of ROSTER messages (see PROTOCOL.md). */
export interface Roster {
  version: number
  members: Member[]
  /** 0 (or absent): the whole roster. Otherwise a delta on the roster at version `base`. */
  base?: number
  /** Ids (16 bytes) that left since `base`. */
  removed?: Uint8Array[]
}
/** The payload of OPEN messages (see PROTOCOL.md). */
export interface Open {
  hasInitial: boolean
  initial: Uint8Array
  lastEpoch?: number
  /** Origin (16 bytes) and clientSeq of the fragment at the opener's seq; empty when unknown. */
  lastOrigin?: Uint8Array
  lastClientSeq?: number
  /** Fingerprint of the opener's history up to its seq (document/history-chain.ts); 0 or absent: unknown. */
  lastHistory?: number
}
export interface PresenceEntry {
  origin: Uint8Array
  value: Uint8Array
}
export interface OriginSeq {
  origin: Uint8Array
  clientSeq: number
}
/** The payload of SNAPSHOT messages (see PROTOCOL.md). */
export interface Snapshot {
  state: Uint8Array
  clientSeqs: OriginSeq[]
  presence: PresenceEntry[]
  /** Fingerprint of the history up to the snapshot's seq; 0 or absent: unknown. */
  history?: number
}
/** The payload of ACCESS answers: the root's `authorize` decision for one endpoint and document (see PROTOCOL.md). */
export interface Access {
  /** The endpoint the decision is about (16 bytes). */
  endpoint: Uint8Array
  /** Allowed to open and read the document. */
  allowed: boolean
  /** When refused: the reason the root's authorize gave. */
  reason: string
  /** How long relays may serve opens on this decision without asking again. */
  ttlMs: number
  /** The root has no authorize hook: the decision holds for every endpoint and document. */
  everyone: boolean
  /** When refused: `ERR_ACCESS_DENIED`, or `ERR_BAD_REQUEST` when the hook failed. */
  code: string
}
/** The payload of FRAGMENTS messages (see PROTOCOL.md). */
export interface Batch {
  envelopes: Uint8Array[]
  /** In BRANCH: the history fingerprint at the fork (the message's seq); 0 or absent elsewhere. */
  history?: number
}

export interface PayloadCodec<T> {
  encode(value: T): Uint8Array
  decode(bytes: Uint8Array): T
}

function codec<T>(name: string): PayloadCodec<T> {
  const type: protobuf.Type = schema.lookupType(`zinc.${name}`)
  return {
    encode: (value) => type.encode(value as object).finish(),
    decode: (bytes) => {
      try {
        const decoded = type.decode(bytes)
        // toObject fills defaults and turns Longs into numbers; payloads are small.
        return type.toObject(decoded, { longs: Number, defaults: true, arrays: true }) as T
      } catch (error) {
        throw new BadFrameError(`malformed ${name} payload (${(error as Error).message})`)
      }
    },
  }
}

/** Encodes and decodes `Hello` payloads (protobuf). */
export const HelloCodec = codec<Hello>('Hello')
/** Encodes and decodes `Welcome` payloads (protobuf). */
export const WelcomeCodec = codec<Welcome>('Welcome')
/** Encodes and decodes `Refusal` payloads (protobuf). */
export const RefusalCodec = codec<Refusal>('Refusal')
/** Encodes and decodes `Heartbeat` payloads (protobuf). */
export const HeartbeatCodec = codec<Heartbeat>('Heartbeat')
/** Encodes and decodes `Roster` payloads (protobuf). */
export const RosterCodec = codec<Roster>('Roster')
/** Encodes and decodes `Open` payloads (protobuf). */
export const OpenCodec = codec<Open>('Open')
/** Encodes and decodes `Snapshot` payloads (protobuf). */
export const SnapshotCodec = codec<Snapshot>('Snapshot')
/** Encodes and decodes `Access` payloads (protobuf). */
export const AccessCodec = codec<Access>('Access')
/** Encodes and decodes `Batch` payloads (protobuf). */
export const BatchCodec = codec<Batch>('Batch')

export function requireUuidBytes(bytes: Uint8Array, field: string): Uint8Array {
  if (bytes.byteLength !== 16) throw new BadFrameError(`${field} must be a 16-byte UUID`)
  return bytes
}
