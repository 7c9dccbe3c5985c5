import { AbortError, ClosedError, JoinRefusedError, JoinTimeoutError } from '../errors.js'
import type { EndpointId } from '../ids.js'
import { encodeMessage } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import { HelloCodec } from '../protocol/payloads.js'
import { docTopic } from '../protocol/topics.js'
import type { TimerHandle } from '../runtime/clock.js'
import type { NodeContext } from './context.js'
import type { EndpointAddresses } from './options.js'
import { ParentLink } from './parent-link.js'
import type { TreeMemory } from './tree-memory.js'

/** What joining needs of the endpoint besides its context. */
export interface JoiningNode extends NodeContext {
  /** Random per process: said in every hello, so the parent tells a restart apart. */
  readonly incarnation: number
  readonly memory: TreeMemory
}

/**
 * This endpoint's way up: which parent link is current, and joining it — hellos repeated until
 * the welcome (or a refusal, a timeout, an abort) — and, on a re-join, reopening every document
 * it carries there and resending what is pending.
 */
export class Joining {
  /** The current parent link (undefined at a root and in limbo). */
  #link: ParentLink | undefined
  #welcome: { resolve: () => void; reject: (e: Error) => void } | undefined
  #joinedBefore = false

  /** `listen` starts reading what the parent publishes on a new link. */
  constructor(
    readonly node: JoiningNode,
    readonly listen: (link: ParentLink) => void,
  ) {}

  get link(): ParentLink | undefined {
    return this.#link
  }

  /**
   * Connects to a parent and waits for its welcome (from `expect`, when given: another
   * endpoint answering at that address is refused). On failure the half-made link is closed
   * and this endpoint has no parent again, so a caller can try the next address.
   */
  async join(addresses: EndpointAddresses, timeoutMs = this.node.opts.joinTimeoutMs, expect?: EndpointId, signal?: AbortSignal): Promise<void> {
    const transport = this.node.opts.joinTransport ?? this.node.opts.transport
    const link = await ParentLink.connect(transport, addresses, this.node.id, this.node.opts.maxMessageBytes, this.node.logger, () => this.node.stats.queueDrops++, this.node.clock.now())
    link.expected = expect
    const previous = this.#link
    this.#link = link
    if (previous && previous !== link) void previous.close()
    this.node.succession.forgetRosterVersion()
    this.listen(link)
    const welcomed = new Promise<void>((resolve, reject) => (this.#welcome = { resolve, reject }))
    // A coordinated endpoint stops waiting on a leader that was replaced (it may be dead).
    const welcome = this.#welcome
    const onAbort = () => void (this.#welcome === welcome && welcome?.reject(new AbortError(`Joining ${addresses.inbound}`)))
    signal?.addEventListener('abort', onAbort, { once: true })
    if (signal?.aborted) onAbort()
    const started = this.node.clock.now()
    // Said again until answered (the subscription may not have reached the parent yet), less
    // and less often: a crowd joining a busy parent must not bury it under repeated hellos.
    let retry = Math.max(50, Math.min(500, this.node.opts.heartbeatMs))
    let hello: TimerHandle | undefined
    const again = () => {
      this.sendHello()
      hello = this.node.clock.setTimeout(again, retry)
      retry = Math.min(retry * 2, 2000)
    }
    again()
    const timeout = this.node.clock.setTimeout(() => this.#welcome?.reject(link.busy ? busyError(addresses.inbound, timeoutMs) : new JoinTimeoutError(addresses.inbound, timeoutMs)), timeoutMs)
    try {
      await welcomed
      this.node.logger.info({ parent: link.parentId, ms: this.node.clock.now() - started }, 'joined')
      this.node.updateRole()
      this.node.memory.changed()
    } catch (error) {
      if (this.#link === link && link.welcomed) {
        // The welcome was handled in the same turn the timeout fired (a busy loop): it counts.
        this.node.logger.info({ parent: link.parentId, ms: this.node.clock.now() - started }, 'joined (the welcome came as the wait ended)')
        this.node.updateRole()
        this.node.memory.changed()
        return
      }
      if (this.#link === link) this.#link = undefined
      await link.close()
      throw error
    } finally {
      signal?.removeEventListener('abort', onAbort)
      this.node.clock.clearTimeout(hello)
      this.node.clock.clearTimeout(timeout)
      this.#welcome = undefined
    }
  }

  /** Drops the link to a parent presumed dead, without a goodbye. */
  async detach(): Promise<void> {
    const link = this.#link
    if (!link) return
    this.#link = undefined
    await link.close()
  }

  sendHello(): void {
    const link = this.#link
    if (!link || link.helloPausedUntil > this.node.clock.now()) return
    const a = this.node.addresses
    const payload = HelloCodec.encode({
      token: this.node.opts.token,
      inbound: a?.inbound ?? '',
      outbound: a?.outbound ?? '',
      priority: this.node.opts.priority,
      docs: this.node.replicas.heads(true),
      ancestry: [],
      incarnation: this.node.incarnation,
      peerTimeoutMs: this.node.opts.peerTimeoutMs,
    })
    link.send(encodeMessage({ kind: Kind.HELLO, origin: this.node.id, epoch: this.node.succession.epoch, payload }))
    this.node.countSent(Kind.HELLO)
  }

  welcomed(parentId: EndpointId): void {
    const link = this.#link
    if (!link) return
    if (link.welcomed && link.parentId === parentId) return
    // Documents already open mean a re-join (or a stale root joining its successor).
    const rejoin = this.#joinedBefore || this.node.replicas.size > 0
    this.#joinedBefore = true
    link.parentId = parentId
    link.welcomed = true
    link.heard(this.node.clock.now())
    if (this.node.succession.inLimbo) this.node.succession.joined()
    this.#welcome?.resolve()
    if (!rejoin) return
    // A re-join (the parent forgot us, or a new parent after a failover): reopen what we
    // carry, catching up from our seq, and resend what is pending.
    this.node.logger.info({ parent: parentId }, 'joined again')
    for (const r of this.node.replicas.values()) {
      r.sequencer = undefined
      r.resetStaged()
      link.subscribe(docTopic(r.doc))
      this.node.replicas.requestOpen(r)
      this.node.stats.resent += r.resendPending(0)
    }
  }

  refused(reason: string, code = ''): void {
    const error = new JoinRefusedError(this.#link?.addresses.inbound ?? '?', reason, code)
    if (this.#welcome) this.#welcome.reject(error)
    else this.node.events.emit('error', error)
  }

  /** The endpoint closes: a join still waiting for its welcome fails. */
  close(): void {
    this.#welcome?.reject(new ClosedError(`Endpoint ${this.node.id}`))
  }
}

/** The parent kept saying it was busy admitting other joins for the whole join timeout. */
function busyError(address: string, ms: number): JoinRefusedError {
  return new JoinRefusedError(address, `it was busy admitting other joins for all of ${ms} ms; try again in a few seconds (or raise joinTimeoutMs)`, 'ERR_BUSY')
}
