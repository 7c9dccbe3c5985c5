import { decodeJson } from '../protocol/json.js'
import { encodeMessage, stampSequenced, type Message } from '../protocol/codec.js'
import type { NodeContext } from './context.js'

/** A relay passes a descendant's message up, vouching for it as `sender`. */
export function forwardUp(node: NodeContext, m: Message): void {
  node.watchOrigin(m.origin)
  node.sendUp(vouched(node, m))
}

/**
 * Room left under `maxMessageBytes` for a stamp: a stamped copy grows by ~25 bytes per relay,
 * and must not become too large for the parent to read.
 */
const STAMP_ROOM = 256

/** A descendant's message as this relay passes it up: the same, with this relay as `sender`. */
export function vouched(node: NodeContext, m: Message): Uint8Array {
  // As received (its payload still a view of the bytes it came in): those bytes with this
  // relay's `sender` and `epoch` appended (protobuf's last value wins, see stampSequenced),
  // one copy instead of a re-encode of every field at every relay.
  if (asReceived(m) && m.raw.byteLength + STAMP_ROOM <= node.opts.maxMessageBytes) return stampSequenced(m.raw, node.id, m.seq, node.succession.epoch)
  // Every field the origin set travels on (baseSeq too: the root transforms from it).
  return encodeMessage({
    kind: m.kind,
    origin: m.origin,
    sender: node.id,
    doc: m.doc,
    clientSeq: m.clientSeq,
    seq: m.seq,
    baseSeq: m.baseSeq,
    epoch: node.succession.epoch,
    payload: m.payload,
    appKind: m.appKind,
    encoding: m.encoding,
  })
}

/**
 * Whether `m` is still what its bytes say: its payload a view of `raw` (a copy made with
 * another payload, e.g. a refusal's, is encoded afresh).
 */
function asReceived(m: Message): boolean {
  const p = m.payload
  if (p.byteLength === 0) return false // nothing to tell by: encoded afresh
  return p.buffer === m.raw.buffer && p.byteOffset >= m.raw.byteOffset && p.byteOffset + p.byteLength <= m.raw.byteOffset + m.raw.byteLength
}

/** Runs the application's handler for an APP message; the origin never gets its own back. */
export function deliverApp(node: NodeContext, m: Message): void | Promise<void> {
  if (m.origin === node.id) return
  return node.appHandlers.deliver(m)
}

/** Presence values are JSON; an empty payload means the origin's presence is gone. */
export function presenceValue(m: Message): unknown {
  return m.payload.byteLength === 0 ? null : decodeJson(m.payload, 'presence value')
}
