import { decodeJson } from '../protocol/json.js'
import { encodeMessage, type Message } from '../protocol/codec.js'
import type { NodeContext } from './context.js'

/** A relay passes a descendant's message up, vouching for it as `sender`. */
export function forwardUp(node: NodeContext, m: Message): void {
  node.watchOrigin(m.origin)
  node.sendUp(vouched(node, m))
}

/** A descendant's message as this relay passes it up: the same, with this relay as `sender`. */
export function vouched(node: NodeContext, m: Message): Uint8Array {
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

/** Runs the application's handler for an APP message; the origin never gets its own back. */
export function deliverApp(node: NodeContext, m: Message): void | Promise<void> {
  if (m.origin === node.id) return
  return node.appHandlers.deliver(m)
}

/** Presence values are JSON; an empty payload means the origin's presence is gone. */
export function presenceValue(m: Message): unknown {
  return m.payload.byteLength === 0 ? null : decodeJson(m.payload, 'presence value')
}
