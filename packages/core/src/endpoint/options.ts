import { InvalidArgumentError } from '../errors.js'
import type { DocId, EndpointId } from '../ids.js'
import { silentLogger, type Logger } from '../logger.js'
import type { Storage } from '../storage.js'
import type { LeafStorage } from '../leaf-storage.js'
import type { RateLimit } from '../runtime/rate-limit.js'
import type { Transport } from '../transport.js'
import type { Clock } from '../runtime/clock.js'
import type { JoinLimit } from './join-gate.js'
import type { ServerHooks, Verdict } from './hooks.js'
import type { Coordinator } from './coordinator.js'

export type { Verdict } from './hooks.js'

import type { EndpointAddresses } from './addresses.js'

export type { EndpointAddresses } from './addresses.js'

/** What the parent's `authenticate` hook sees of a joiner. */
export interface JoinRequest {
  endpoint: EndpointId
  token: string
  addresses: EndpointAddresses | undefined
}

/** What the `authorize` hook decides on. `read` is asked when a snapshot or catch-up is served. */
export interface AccessRequest {
  endpoint: EndpointId
  doc: DocId
  action: 'open' | 'read' | 'change'
}

/**
 * Options of `Endpoint.start`; every default is in `DEFAULTS`. The server hooks on content
 * (`validate`, `onChange`, `onLoad`, `onStore`) are documented on {@link ServerHooks}; they run
 * where the endpoint is the root.
 */
export interface EndpointOptions extends ServerHooks {
  /** Makes the channels. Below (children) and above (parent) unless `joinTransport` is set. */
  transport: Transport
  /** Addresses to bind, e.g. `tcp://127.0.0.1:*`. Omit for a leaf that cannot bind (a browser tab). */
  bind?: EndpointAddresses
  /** The parent's addresses. Omit to start a root host. */
  join?: EndpointAddresses
  /** The transport to reach the parent with, when it differs from `transport` (an edge relay). */
  joinTransport?: Transport
  /**
   * Who decides the root. `'peers'` (default): the embedded succession, no service to run.
   * A `Coordinator` such as `etcd({ endpoints })` from `@zinc/coordinator-etcd`: the endpoint
   * is a member of an election (it needs `bind`, and no `join`: it joins whoever leads).
   */
  coordinator?: 'peers' | Coordinator
  /** This endpoint's id; a fresh UUID by default. */
  id?: EndpointId
  /** Credentials sent with the join, checked by the parent's `authenticate`. */
  token?: string
  /** Decides who may join as a child of this endpoint. Default: everyone. */
  authenticate?: (request: JoinRequest) => Verdict | Promise<Verdict>
  /**
   * Decides who may open, read and change which document. The root's decides: `change` when it
   * sequences, `open` and `read` when an open is served — by the root itself, or by a relay from
   * its own copy after asking the root (a relay's own hook, if it has one, is asked as well).
   * Default: everything.
   */
  authorize?: (request: AccessRequest) => Verdict | Promise<Verdict>
  /**
   * At the root: how long relays may serve opens on one of its `authorize` decisions (for that
   * endpoint and document) before asking again, so a revoked permission takes effect at every
   * relay within this long. 0: relays ask for every open. Without an `authorize` hook the root
   * tells relays so once per this long for all endpoints. Default 5 s.
   */
  accessCacheMs?: number
  /** Heartbeat period, both directions. */
  heartbeatMs?: number
  /** Silence after which a child is dropped, or a parent presumed dead. */
  peerTimeoutMs?: number
  /** How long `Endpoint.start` waits for the parent's welcome. */
  joinTimeoutMs?: number
  /** Succession priority among siblings: higher is promoted first. */
  priority?: number
  /** Largest message accepted or sent, in bytes. */
  maxMessageBytes?: number
  /** Documents handled at once by the MessageHandler pool. */
  concurrency?: number
  /** Messages queued in the pool before listeners stop reading (back-pressure). */
  queueLimit?: number
  /** Sequenced fragments kept per document to answer catch-up requests. */
  logLimit?: number
  /**
   * Bytes of sequenced fragments kept per document for catch-up, next to `logLimit`: whichever
   * is reached first drops the oldest. A child that needs older ones gets a snapshot.
   */
  logBytes?: number
  /**
   * Largest document the root lets grow (its JSON size, about): a change that would pass it is
   * rejected with `ERR_DOCUMENT_TOO_LARGE`. Default: half of `maxMessageBytes`, so a snapshot
   * of it always fits in one message.
   */
  maxDocumentBytes?: number
  /**
   * A local change not acknowledged after this long is sent again. An unanswered open too, then
   * after twice as long each time, up to 4 × this, with a random 0–50 % more (a crowd's retries spread out).
   */
  resendMs?: number
  /** Undo steps kept per document handle. */
  undoLimit?: number
  /**
   * Per-child limit on changes, presence and application messages this endpoint accepts
   * (a token bucket). Over it, messages are dropped and the child is told `ERR_RATE_LIMITED`;
   * its changes stay pending and are resent. Default: no limit. An edge relay facing browsers
   * should set one.
   */
  childRateLimit?: RateLimit
  /**
   * How fast this endpoint admits new children: `burst` at once, then `perSecond`; up to
   * `queue` more wait their turn, and past that a joiner is refused with `ERR_BUSY` and a time
   * to try again (a joining endpoint does so by itself, within its `joinTimeoutMs`). Children
   * already joined never wait behind newcomers. Default `{ perSecond: 500, burst: 500, queue: 1000 }`.
   */
  joinLimit?: JoinLimit
  /**
   * A leaf's local store (e.g. IdbLeafStorage in a browser tab): its documents open at once
   * from what was kept, offline too, and its pending changes survive a reload and are sent
   * exactly once. The endpoint takes the store's identity (`id`). Leaves only (no `bind`).
   */
  leafStorage?: LeafStorage
  /**
   * false: `start` resolves at once and the join goes on in the background, retried until the
   * parent welcomes this endpoint ('parent-back' then; `connected` tells). Meant with
   * `leafStorage`, so a tab opened offline works on what it kept. Default true.
   */
  waitForParent?: boolean
  /** Longest a server hook call may take before it counts as failed (the change is refused, the open retried). */
  hookTimeoutMs?: number
  /** Quiet time after a change before `onStore` is called (it is called at least every 5 × this while changes go on). */
  storeDebounceMs?: number
  /** The root's durable storage (e.g. LmdbStorage). Without it, a root restart loses its documents. */
  storage?: Storage
  /** The root stores a snapshot (and compacts the stored log) every this many fragments. */
  snapshotEvery?: number
  /** Where log lines go: a pino logger or anything with the same methods. Silent by default. */
  logger?: Logger
  /** Cancels `Endpoint.start` (binding, joining): it rejects with `AbortError` and releases what it opened. */
  signal?: AbortSignal
  /**
   * Time for liveness, succession and fencing: the real clock by default. Tests pass a
   * `FakeClock` (from `@zinc/core/test-suite`) to replay a failover step by step.
   */
  clock?: Clock
}

/** Every default in one place. */
export const DEFAULTS = {
  heartbeatMs: 250,
  peerTimeoutMs: 1500,
  joinTimeoutMs: 10_000,
  priority: 0,
  maxMessageBytes: 16 * 1024 * 1024,
  concurrency: 16,
  queueLimit: 10_000,
  logLimit: 10_000,
  logBytes: 32 * 1024 * 1024,
  resendMs: 2_000,
  undoLimit: 500,
  snapshotEvery: 1000,
  joinLimit: { perSecond: 500, burst: 500, queue: 1000 },
  hookTimeoutMs: 5_000,
  storeDebounceMs: 2_000,
  accessCacheMs: 5_000,
} as const

type Optional =
  | 'bind'
  | 'join'
  | 'coordinator'
  | 'joinTransport'
  | 'id'
  | 'leafStorage'
  | 'waitForParent'
  | 'authenticate'
  | 'authorize'
  | 'storage'
  | 'childRateLimit'
  | 'clock'
  | 'maxDocumentBytes'
  | 'signal'
  | keyof ServerHooks
export type ResolvedOptions = Required<Omit<EndpointOptions, Optional>> & Omit<Pick<EndpointOptions, Optional>, 'maxDocumentBytes'> & { maxDocumentBytes: number }

export function resolveOptions(options: EndpointOptions): ResolvedOptions {
  if (!options || typeof options !== 'object') throw new InvalidArgumentError('Endpoint.start(options) needs an options object with at least { transport }.')
  if (!options.transport || typeof options.transport.pull !== 'function')
    throw new InvalidArgumentError('Endpoint.start needs a `transport`: new InprocTransport(network), new ZmqTransport() or a WebSocket transport.')
  checkAddresses('bind', options.bind)
  checkAddresses('join', options.join)
  if (!options.bind && !options.join) throw new InvalidArgumentError('An endpoint needs `bind` (to host children), `join` (to have a parent), or both.')
  if (options.bind && !options.transport.canBind) throw new InvalidArgumentError(`The ${options.transport.name} transport cannot bind; leave out \`bind\` so this endpoint is a leaf.`)
  const coordinator = options.coordinator
  if (coordinator !== undefined && coordinator !== 'peers') {
    if (typeof coordinator !== 'object' || typeof coordinator.start !== 'function')
      throw new InvalidArgumentError("Option `coordinator` must be 'peers' or a coordinator such as etcd({ endpoints: ['127.0.0.1:2379'] }) from @zinc/coordinator-etcd.")
    if (!options.bind) throw new InvalidArgumentError('A coordinated endpoint (option `coordinator`) must `bind`: it may be elected root, and others join it there.')
    if (options.join) throw new InvalidArgumentError('A coordinated endpoint joins whoever the coordinator elects: leave out `join`.')
  }
  if (options.leafStorage && options.bind) throw new InvalidArgumentError('leafStorage is for leaves (browser tabs): leave out `bind`, or use `storage` for an endpoint that may host.')
  if (options.leafStorage && options.id !== undefined && options.id !== options.leafStorage.id)
    throw new InvalidArgumentError(`Option id (${options.id}) differs from the leafStorage's identity (${options.leafStorage.id}): leave out id, the endpoint takes the store's.`)
  if (options.waitForParent === false && !options.join) throw new InvalidArgumentError('waitForParent: false needs `join` (the parent to join in the background).')
  const resolved = { ...DEFAULTS, token: '', logger: silentLogger, ...stripUndefined(options) } as ResolvedOptions
  resolved.maxDocumentBytes ??= Math.floor(resolved.maxMessageBytes / 2)
  if (resolved.leafStorage) resolved.id = resolved.leafStorage.id
  for (const key of [
    'heartbeatMs',
    'peerTimeoutMs',
    'joinTimeoutMs',
    'maxMessageBytes',
    'concurrency',
    'queueLimit',
    'logLimit',
    'logBytes',
    'maxDocumentBytes',
    'resendMs',
    'undoLimit',
    'snapshotEvery',
    'hookTimeoutMs',
    'storeDebounceMs',
  ] as const) {
    const v = resolved[key]
    if (typeof v !== 'number' || !(v > 0)) throw new InvalidArgumentError(`Option ${key} must be a positive number, got ${String(v)}.`)
  }
  if (typeof resolved.accessCacheMs !== 'number' || !(resolved.accessCacheMs >= 0) || resolved.accessCacheMs > 2 ** 31)
    throw new InvalidArgumentError(`Option accessCacheMs must be a number of milliseconds from 0 (relays ask for every open) up, got ${String(resolved.accessCacheMs)}.`)
  for (const hook of ['authenticate', 'authorize', 'validate', 'onChange', 'onLoad', 'onStore'] as const) {
    if (resolved[hook] !== undefined && typeof resolved[hook] !== 'function') throw new InvalidArgumentError(`Option ${hook} must be a function, got ${typeof resolved[hook]}.`)
  }
  const limit = resolved.childRateLimit
  if (limit !== undefined && !(limit.perSecond > 0 && limit.burst >= 1)) throw new InvalidArgumentError('childRateLimit must be { perSecond: > 0, burst: >= 1 }, e.g. { perSecond: 200, burst: 400 }.')
  const joins = resolved.joinLimit
  if (!joins || !(joins.perSecond > 0 && joins.burst >= 1 && joins.queue >= 0))
    throw new InvalidArgumentError('joinLimit must be { perSecond: > 0, burst: >= 1, queue: >= 0 }, e.g. { perSecond: 500, burst: 500, queue: 1000 }.')
  if (resolved.peerTimeoutMs <= resolved.heartbeatMs)
    throw new InvalidArgumentError(`peerTimeoutMs (${resolved.peerTimeoutMs}) must be larger than heartbeatMs (${resolved.heartbeatMs}), typically 4-6 times.`)
  return resolved
}

function checkAddresses(name: string, a: EndpointAddresses | undefined): void {
  if (a === undefined) return
  if (typeof a !== 'object' || a === null || typeof a.inbound !== 'string' || typeof a.outbound !== 'string' || !a.inbound || !a.outbound)
    throw new InvalidArgumentError(`Option \`${name}\` must be { inbound: string, outbound: string }, e.g. host.addresses.`)
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
