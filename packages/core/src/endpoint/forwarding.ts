import type { DocId, EndpointId } from '../ids.js'
import { decodeJson } from '../protocol/json.js'
import { encodeMessage, type Message } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import { RefusalCodec } from '../protocol/payloads.js'
import { endpointTopic } from '../protocol/topics.js'
import { appMessage, runHandler } from './app-messages.js'
import type { Node } from './node.js'

/** A relay passes a descendant's message up, vouching for it as `sender`. */
export function forwardUp(node: Node, m: Message): void {
  node.watchOrigin(m.origin)
  node.sendUp(
    encodeMessage({ kind: m.kind, origin: m.origin, sender: node.id, doc: m.doc, clientSeq: m.clientSeq, seq: m.seq, epoch: node.epoch, payload: m.payload, appKind: m.appKind, encoding: m.encoding, baseSeq: m.baseSeq }),
  )
}

/** A targeted refusal on the parent's PUB, topic e/<to>. */
export function refuse(node: Node, to: EndpointId, kind: Kind, code: string, reason: string, doc: DocId | '' = '', clientSeq = 0): void {
  const payload = RefusalCodec.encode({ code, reason })
  node.publish(endpointTopic(to), encodeMessage({ kind, origin: node.id, doc, clientSeq, epoch: node.epoch, payload }))
}

/** Runs the application's handler for an APP message; the origin never gets its own back. */
export function deliverApp(node: Node, m: Message): void | Promise<void> {
  if (m.origin === node.id) return
  const handler = node.appHandlers.get(m.appKind)
  if (!handler) return
  return runHandler(handler, appMessage(m.appKind, m.origin, m.payload, m.encoding), { endpoint: node.id, logger: node.logger })
}

/** Presence values are JSON; an empty payload means the origin's presence is gone. */
export function presenceValue(m: Message): unknown {
  return m.payload.byteLength === 0 ? null : decodeJson(m.payload, 'presence value')
}
