import type { ReplicaIO } from '../document/replica-io.js'
import type { DocId } from '../ids.js'
import { docTopic } from '../protocol/topics.js'
import type { NodeContext } from './context.js'
import type { Coordinator } from './coordinator.js'
import { HookRunner } from './hook-runner.js'
import { ReplicaSet } from './replicas.js'

/** What the replicas are wired to beyond the endpoint's context. */
export interface ReplicaHost extends NodeContext {
  /** Publishes sequenced fragments to the children (one frame for several). */
  publishFragments(doc: DocId, envelopes: Uint8Array[]): void
}

/** The root's server hooks on content (validate, onChange, onLoad, onStore), when the application gave any. */
export function serverHooks(node: NodeContext): HookRunner | undefined {
  const opts = node.opts
  const { validate, onChange, onLoad, onStore } = opts
  if (!(validate || onChange || onLoad || onStore)) return undefined
  return new HookRunner({
    hooks: { validate, onChange, onLoad, onStore },
    timeoutMs: opts.hookTimeoutMs,
    storeDebounceMs: opts.storeDebounceMs,
    clock: node.clock,
    logger: node.logger,
    stats: node.stats,
    reportError: (error) => node.events.emit('error', error),
  })
}

/**
 * The endpoint's replica set, wired to it: the `ReplicaIO` through which each replica sends,
 * publishes, stores (only at the root) and runs the server hooks, and what the set asks of the
 * tree (whether this is the root, the epoch, the parent's subscriptions).
 */
export function wireReplicas(node: ReplicaHost, hooks: HookRunner | undefined): ReplicaSet {
  const opts = node.opts
  const isRoot = (): boolean => node.succession.isRoot
  const storage = opts.storage
  const io: ReplicaIO = {
    self: node.id,
    logger: node.logger,
    stats: node.stats,
    epoch: () => node.succession.epoch,
    now: () => node.clock.now(),
    isRoot,
    // Only an endpoint that binds can be promoted (succession.ts): a leaf's replicas keep no op history.
    canSequence: () => opts.bind !== undefined,
    mayConfirm: () => node.coordination?.mayConfirm() ?? true,
    sendUp: (bytes) => node.sendUp(bytes),
    publishFragments: (doc, envelopes) => node.publishFragments(doc, envelopes),
    publishOnDoc: (doc, bytes) => node.publish(docTopic(doc), bytes),
    sendTo: (endpoint, bytes) => node.sendTo(endpoint, bytes),
    defer: (fn) => node.defer(fn),
    later: (fn) => void (typeof setImmediate === 'function' ? setImmediate(fn) : setTimeout(fn, 0)),
    // Only the root writes: a relay or client with storage keeps its tree record there, no documents.
    get storage() {
      return isRoot() ? storage : undefined
    },
    maybeSnapshot: (replica) => node.replicas.maybeSnapshot(replica),
    hooks,
  }
  return new ReplicaSet({
    io,
    clock: node.clock,
    logger: node.logger,
    logLimit: opts.logLimit,
    logBytes: opts.logBytes,
    maxMessageBytes: opts.maxMessageBytes,
    snapshotEvery: opts.snapshotEvery,
    storage: opts.storage,
    load: hooks && opts.onLoad ? (doc) => hooks.load(doc) : undefined,
    check: typeof opts.coordinator === 'object' && opts.coordinator.checkDocument ? (doc, opening) => (opts.coordinator as Coordinator).checkDocument!(doc, opening) : undefined,
    isRoot: () => node.succession.isRoot,
    epoch: () => node.succession.epoch,
    // sendUp counts the message (by its kind) itself.
    sendUp: (_kind, bytes) => node.sendUp(bytes),
    subscribeDoc: (doc) => node.parent?.subscribe(docTopic(doc)),
    unsubscribeDoc: (doc) => node.parent?.unsubscribe(docTopic(doc)),
  })
}
