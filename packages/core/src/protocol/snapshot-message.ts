import type { DocId, EndpointId } from '../ids.js'
import { encodeMessage } from './codec.js'
import { Kind } from './kinds.js'
import { SnapshotCodec, type Snapshot } from './payloads.js'

/** Who sends a SNAPSHOT, of what, at which point of the history. */
export interface SnapshotHead {
  origin: EndpointId
  doc: DocId
  seq: number
  epoch: number
}

/** A snapshot but its state. */
export type SnapshotParts = Omit<Snapshot, 'state'>

/**
 * The bytes of a SNAPSHOT message around its state's JSON: the message is `before`, the state,
 * `after`. Both are small (ids, counters, presence); the state is nearly all of a large snapshot.
 */
export interface SnapshotFrame {
  readonly before: Uint8Array
  readonly after: Uint8Array
}

const NodeBuffer = (globalThis as { Buffer?: { allocUnsafe(n: number): Uint8Array } }).Buffer
/** A Buffer where there is one (what encodeMessage returns in Node), else a Uint8Array. */
const alloc = (n: number): Uint8Array => (NodeBuffer ? NodeBuffer.allocUnsafe(n) : new Uint8Array(n))

/** Tag of Envelope.payload (field 9, length-delimited) and of Snapshot.state (field 1). */
const PAYLOAD_TAG = (9 << 3) | 2
const STATE_TAG = (1 << 3) | 2

/**
 * The SNAPSHOT message `encodeMessage({ kind: SNAPSHOT, …, payload: SnapshotCodec.encode(snapshot) })`
 * would write, byte for byte (snapshot-message.test.ts compares them), in one allocation.
 *
 * The state's JSON is nearly all of a large snapshot (50 MB for a 50 MB document). Through
 * protobufjs it was copied into a growing Writer buffer (reallocated as it doubled), again by
 * `finish()`, and again into the envelope: several passes over 50 MB and as many fresh
 * allocations for every late joiner (~190 ms of CPU, more than the bytes then take to cross
 * tcp). Here the small parts are encoded as before and the state is copied once, into its place.
 */
export function encodeSnapshotMessage(head: SnapshotHead, snapshot: Snapshot): Uint8Array {
  return assembleSnapshot(snapshotFrame(head, snapshot, snapshot.state.byteLength), snapshot.state)
}

/**
 * What goes around a state of `stateLength` bytes. Layout: the envelope's own fields (kind …
 * epoch; those after `payload` are defaults for a SNAPSHOT and so absent), then `payload` =
 * Snapshot { state (field 1, first as protobufjs writes it), clientSeqs, presence, history },
 * each left out when empty as protobufjs and the envelope writer leave them out.
 */
export function snapshotFrame(head: SnapshotHead, parts: SnapshotParts, stateLength: number): SnapshotFrame {
  const envelope = encodeMessage({ kind: Kind.SNAPSHOT, origin: head.origin, doc: head.doc, seq: head.seq, epoch: head.epoch })
  // Everything but the state (protobufjs leaves out a field the object does not have).
  const after = SnapshotCodec.encode({ clientSeqs: parts.clientSeqs, presence: parts.presence, history: parts.history } as Snapshot)
  const stateField = stateLength === 0 ? 0 : 1 + varintSize(stateLength) + stateLength
  const payloadLength = stateField + after.byteLength
  if (payloadLength === 0) return { before: envelope, after }
  const before = new Uint8Array(envelope.byteLength + 1 + varintSize(payloadLength) + (stateField === 0 ? 0 : 1 + varintSize(stateLength)))
  before.set(envelope, 0)
  let at = envelope.byteLength
  before[at++] = PAYLOAD_TAG
  at = writeVarint(before, at, payloadLength)
  if (stateField !== 0) {
    before[at++] = STATE_TAG
    writeVarint(before, at, stateLength)
  }
  return { before, after }
}

/** The message `frame` makes around `state`: one allocation, the state copied once. */
export function assembleSnapshot(frame: SnapshotFrame, state: Uint8Array): Uint8Array {
  const { before, after } = frame
  const out = alloc(before.byteLength + state.byteLength + after.byteLength)
  out.set(before, 0)
  out.set(state, before.byteLength)
  out.set(after, before.byteLength + state.byteLength)
  return out
}

function varintSize(v: number): number {
  let n = 1
  while (v >= 0x80) {
    v = Math.floor(v / 128)
    n++
  }
  return n
}

function writeVarint(out: Uint8Array, at: number, v: number): number {
  while (v >= 0x80) {
    out[at++] = (v & 0x7f) | 0x80
    v = Math.floor(v / 128)
  }
  out[at++] = v
  return at
}
