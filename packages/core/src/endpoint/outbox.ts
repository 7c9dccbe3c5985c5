import type { DocId, EndpointId } from '../ids.js'
import { decodeMessage, encodeMessage } from '../protocol/codec.js'
import { Kind, kindName, peekKind } from '../protocol/kinds.js'
import { writeBatch } from '../protocol/envelope-writer.js'
import { RefusalCodec } from '../protocol/payloads.js'
import { docTopic, endpointTopic } from '../protocol/topics.js'
import type { PubChannel } from '../transport.js'
import type { NodeContext } from './context.js'
import type { Inbox } from './inbox.js'

/**
 * What goes out of an endpoint: published on its PUB to children (a topic each: a document, an
 * endpoint, tree control), sent up its parent link, or — at the root, which has no parent — looped
 * back into its own inbox. Every send is counted by kind, exactly once.
 */
export class Outbox {
  constructor(
    readonly node: NodeContext,
    readonly inbox: Inbox,
    readonly outbound: () => PubChannel | undefined,
  ) {}

  /** Counts one sent message in `sent` and `sentByKind`; every send path calls it exactly once. */
  countSent(kind: Kind | number): void {
    const stats = this.node.stats
    stats.sent++
    const k = kindName(kind)
    stats.sentByKind[k] = (stats.sentByKind[k] ?? 0) + 1
  }

  publish(topic: string, bytes: Uint8Array): void {
    const out = this.outbound()
    if (!out || this.node.closed) return
    this.countSent(peekKind(bytes))
    out.send(topic, bytes).catch((error: unknown) => {
      if (!this.node.closed) this.node.logger.warn({ err: error, topic }, 'publishing failed')
    })
  }

  refuse(to: EndpointId, code: string, reason: string, doc: DocId | '' = '', clientSeq = 0, retryAfterMs = 0): void {
    const node = this.node
    node.stats.refusedByCode[code] = (node.stats.refusedByCode[code] ?? 0) + 1
    const payload = RefusalCodec.encode({ code, reason, retryAfterMs })
    this.publish(endpointTopic(to), encodeMessage({ kind: Kind.REFUSE, origin: node.id, doc, clientSeq, epoch: node.succession.epoch, payload }))
  }

  /** Towards the root; at the root, straight into its own handler pool. */
  sendUp(bytes: Uint8Array): void {
    const node = this.node
    if (node.closed) return
    const parent = node.parent
    if (parent) {
      this.countSent(peekKind(bytes))
      parent.sentAt = node.clock.now()
      parent.send(bytes)
      return
    }
    if (!node.succession.isRoot) {
      // In the limbo of a failover: nowhere to send. Changes stay pending and are resent.
      node.stats.queueDrops++
      return
    }
    // On a later turn, as a child's change would come: pushed now, the handler would run inside
    // the caller (the pool starts an idle lane at once), and a root answering its own change
    // would take the resend in the middle of answering the rest of that batch.
    const message = decodeMessage(bytes, Infinity)
    node.defer(() => this.inbox.push(message, 'self', ''))
  }

  sendTo(endpoint: EndpointId, bytes: Uint8Array): void {
    const node = this.node
    if (endpoint === node.id) {
      // The root answering its own change: no parent link carries it (handleOwnAnswer).
      const message = decodeMessage(bytes, Infinity)
      node.defer(() => this.inbox.push(message, 'answer', endpointTopic(node.id)))
      return
    }
    this.publish(endpointTopic(endpoint), bytes)
  }

  publishFragments(doc: DocId, envelopes: Uint8Array[]): void {
    const node = this.node
    // A write that finished after the lease lapsed is not confirmed: the origins keep the
    // change pending and resend it to the next root.
    if (node.coordination && !node.coordination.mayConfirm()) return void (node.stats.dropped += envelopes.length)
    if (!this.outbound() || node.children.size === 0 || envelopes.length === 0) return
    if (envelopes.length === 1) {
      this.publish(docTopic(doc), envelopes[0]!)
      return
    }
    const payload = writeBatch(envelopes)
    this.publish(docTopic(doc), encodeMessage({ kind: Kind.FRAGMENTS, origin: node.id, doc, epoch: node.succession.epoch, payload }))
  }
}
