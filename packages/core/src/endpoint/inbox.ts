import type { BadFrameError } from '../errors.js'
import type { Message } from '../protocol/codec.js'
import { Kind, kindName } from '../protocol/kinds.js'
import { ChannelListener } from '../runtime/channel-listener.js'
import { HandlerPool } from '../runtime/handler-pool.js'
import { record } from '../runtime/histogram.js'
import type { PeerIdentity, PullChannel } from '../transport.js'
import type { NodeContext, Work } from './context.js'
import { handleFromChild } from './handlers/from-child.js'
import { handleFromParent, handleOwnAnswer } from './handlers/from-parent.js'
import type { ParentLink } from './parent-link.js'

/**
 * Kinds about the tree itself. They run in their own lane of the handler pool, never behind
 * a document's or the application's messages, and are never held back by a full queue.
 */
const CONTROL: ReadonlySet<number> = new Set<number>([Kind.HELLO, Kind.WELCOME, Kind.HEARTBEAT, Kind.ROSTER, Kind.LEAVE])

/**
 * What comes in to an endpoint: the frames its listeners read (from children on the inbound
 * PULL, from the parent on its SUB) and the root's own loop-back. Liveness is stamped as a frame
 * is read; then the message waits in its lane for its handler (from-child, from-parent, or the
 * root's answer to itself).
 */
export class Inbox {
  /** Documents and application kinds: one lane per key, bounded (back-pressure). */
  readonly #pool: HandlerPool<Work>
  /** Tree control (hello, welcome, heartbeat, roster, leave): its own lanes. */
  readonly #control: HandlerPool<Work>
  readonly #listeners: ChannelListener[] = []

  constructor(
    readonly node: NodeContext,
    concurrency: number,
  ) {
    const onError = (error: unknown, work: Work) => {
      this.node.stats.handlerErrors++
      this.node.logger.warn({ err: error, kind: kindName(work.message.kind), doc: work.message.doc }, 'a message handler failed')
    }
    const queueLimit = node.opts.queueLimit
    this.#pool = new HandlerPool<Work>({ concurrency, queueLimit, run: (work) => this.#dispatch(work), onError })
    this.#control = new HandlerPool<Work>({ concurrency: 4, queueLimit, run: (work) => this.#dispatch(work), onError })
  }

  /** Items waiting or running in the handler lanes. */
  get depth(): number {
    return this.#pool.depth + this.#control.depth
  }

  listen(channel: PullChannel | ParentLink['sub'], name: string, frames: 1 | 2, from: Work['from'], link?: ParentLink): ChannelListener {
    const listener = new ChannelListener(channel, {
      name,
      frames,
      maxMessageBytes: this.node.opts.maxMessageBytes,
      logger: this.node.logger,
      onBadFrame: (error: BadFrameError) => {
        this.node.stats.badFrames++
        this.node.logger.warn({ reason: error.reason, channel: name }, 'dropped a bad frame')
      },
      deliver: (message, topic, peer) => this.#deliver(message, topic, from, link, peer),
    })
    this.#listeners.push(listener)
    listener.start()
    return listener
  }

  /** A message that no channel carried (the root's own change, or its answer to one): into its lane. */
  push(message: Message, from: Work['from'], topic: string): void {
    this.#pool.push(this.#laneOf(message), { message, from, topic })
  }

  /** Stops the lanes (what waits in them is dropped). */
  close(): void {
    this.#pool.close()
    this.#control.close()
  }

  /** Settles once every listener has stopped reading. */
  async stopped(): Promise<void> {
    await Promise.allSettled(this.#listeners.map((l) => l.done))
  }

  /** A frame was read: liveness is stamped now, then the message goes to its lane. */
  #deliver(message: Message, topic: string, from: Work['from'], link: ParentLink | undefined, peer?: PeerIdentity): Promise<void> | undefined {
    const node = this.node
    node.stats.received++
    const k = kindName(message.kind)
    node.stats.receivedByKind[k] = (node.stats.receivedByKind[k] ?? 0) + 1
    const now = node.clock.now()
    if (link) {
      // Only the parent's own frames count: another process that took its address (a restart)
      // must not keep a dead parent alive. Before the welcome, anything from there counts.
      if (!link.welcomed || message.sender === link.parentId) {
        link.heard(now)
        if (link === node.parent && link.welcomed) node.parentBack()
      }
    } else {
      node.children.heard(message.sender, now)
    }
    const work: Work = peer ? { message, from, topic, link, peer } : { message, from, topic, link }
    if (CONTROL.has(message.kind) || (message.kind === Kind.REFUSE && !message.doc)) {
      if (this.#control.depth >= node.opts.queueLimit) return void node.stats.queueDrops++
      this.#control.push(`${from}:${message.sender}`, work)
      return undefined
    }
    return this.#pool.offer(this.#laneOf(message), work)
  }

  #dispatch(work: Work): void | Promise<void> {
    const node = this.node
    if (node.closed) return
    const started = performance.now()
    const result = work.from === 'parent' ? handleFromParent(node, work) : work.from === 'answer' ? handleOwnAnswer(node, work) : handleFromChild(node, work)
    if (!result) {
      record(node.stats.handlerLatency, performance.now() - started)
      return
    }
    return result.finally(() => record(node.stats.handlerLatency, performance.now() - started))
  }

  /** The lane of a message: its document, or its application kind (one slow handler holds back only its kind; a worker handler's `orderBy` may split it). */
  #laneOf(m: Message): string {
    return m.doc ? m.doc : m.kind === Kind.APP ? this.node.appHandlers.lane(m) : ''
  }
}
