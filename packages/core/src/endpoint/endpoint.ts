import { AbortError, ClosedError, InvalidArgumentError, MessageTooLargeError, TimeoutError } from '../errors.js'
import { Document } from '../document/document.js'
import type { Replica } from '../document/replica.js'
import { isValidDocId, type DocId, type EndpointId } from '../ids.js'
import { encodeMessage } from '../protocol/codec.js'
import { encodeJson } from '../protocol/json.js'
import { Kind } from '../protocol/kinds.js'
import type { EndpointStats } from '../runtime/stats.js'
import { encodeAppPayload, isValidAppKind, type MessageHandler } from './app-messages.js'
import type { WorkerHandlerOptions } from './app-handlers.js'
import { recallTree, rejoinRememberedTree, rescueStoredDocuments } from './restart.js'
import { Node, type EndpointEvents, type Role } from './node.js'
import { resolveOptions, type EndpointAddresses, type EndpointOptions } from './options.js'
import type { Peer } from './roster.js'
import { joinInBackground } from './background-join.js'
import { openFromLeafStorage } from './leaf-open.js'
import type { Transport, TransportStats } from '../transport.js'
import { bounded, throwIfAborted } from '../runtime/abort.js'

/**
 * Application message kinds and their payload types, for typed `handle` and `publish`:
 * `Endpoint.start<{ chat: { text: string }; ping: string }>(…)`. The default takes any kind
 * with any payload.
 */
export type MessageMap = Record<string, unknown>

/** Options of {@link Endpoint.publish}. */
export interface PublishOptions {
  /** Cancels the call: `publish` rejects with `AbortError` if it aborted before the message left. */
  signal?: AbortSignal
}

/** The counters of the endpoint's transports, summed (each counted once). */
function wireStats(transports: Array<Transport | undefined>): TransportStats | undefined {
  let sum: TransportStats | undefined
  for (const t of new Set(transports)) {
    const s = t?.stats?.()
    if (!s) continue
    sum ??= { sent: 0, received: 0, droppedByHwm: 0, droppedTooLarge: 0, malformed: 0 }
    for (const key of Object.keys(sum) as Array<keyof TransportStats>) sum[key] += s[key] ?? 0
  }
  return sum
}

/** Options of {@link Endpoint.open}. */
export interface OpenOptions<S> {
  /** Seeds the document if the root has none yet; ignored (replaced by the root's state) otherwise. */
  initial?: S
  /** Gives up after this long (default: joinTimeoutMs). */
  timeoutMs?: number
  /** Cancels the wait: `open` rejects with `AbortError`. */
  signal?: AbortSignal
}

/**
 * One node of a Zinc tree. `Endpoint.start` binds its channels and, given `join`, joins a
 * parent; its role (host, relay, client) follows from its place in the tree.
 *
 * @example
 * ```ts
 * const transport = new InprocTransport(new InprocNetwork())
 * const host = await Endpoint.start({ transport, bind: { inbound: 'inproc://host-in', outbound: 'inproc://host-out' } })
 * const client = await Endpoint.start({ transport, bind: { inbound: 'inproc://c-in', outbound: 'inproc://c-out' }, join: host.addresses })
 * const doc = await client.open<{ notes: string[] }>('board-1', { initial: { notes: [] } })
 * doc.change((d) => { d.notes.push('hello') })
 * await doc.synced()
 * await Promise.all([client.close(), host.close()])
 * ```
 */
// oxlint-disable-next-line no-explicit-any -- the default map takes any payload, as before typed maps
export class Endpoint<M extends MessageMap = Record<string, any>> implements AsyncDisposable {
  readonly #node: Node

  private constructor(node: Node) {
    this.#node = node
  }

  /**
   * Starts an endpoint: binds, joins the parent (waiting for its welcome), starts heartbeats.
   * Omit `join` to start a root (role `host`); omit `bind` for a leaf that cannot bind (a
   * browser tab). Rejects if a bind fails, or with `JoinTimeoutError` / `JoinRefusedError` when
   * the parent does not welcome it. Every option and its default: {@link EndpointOptions}, {@link DEFAULTS}.
   *
   * @example
   * ```ts
   * const transport = new ZmqTransport()
   * const host = await Endpoint.start({ transport, bind: { inbound: 'tcp://127.0.0.1:*', outbound: 'tcp://127.0.0.1:*' } })
   * const client = await Endpoint.start({ transport, bind: { inbound: 'tcp://127.0.0.1:*', outbound: 'tcp://127.0.0.1:*' }, join: host.addresses })
   * ```
   */
  // oxlint-disable-next-line no-explicit-any -- see the class
  static async start<M extends MessageMap = Record<string, any>>(options: EndpointOptions): Promise<Endpoint<M>> {
    const opts = resolveOptions(options)
    const signal = options.signal
    throwIfAborted(signal, 'Endpoint.start')
    const node = new Node(opts)
    if (opts.join && opts.waitForParent === false) {
      await recallTree(node)
      void joinInBackground(node, opts.join).catch((error: unknown) => node.logger.error({ err: error }, 'joining in the background failed'))
      return new Endpoint<M>(node)
    }
    const starting = (async () => {
      if (opts.bind) await node.bind(opts.bind)
      if (node.coordination) await node.coordination.start()
      else if (opts.join) {
        const wasRoot = await recallTree(node)
        await node.join(opts.join)
        if (wasRoot) await rescueStoredDocuments(node)
      } else await rejoinRememberedTree(node)
    })()
    try {
      await bounded(starting, { signal, what: 'Endpoint.start' })
    } catch (error) {
      starting.catch(() => {}) // an abort leaves it running until close() below stops it
      await node.close()
      throw error
    }
    node.startTimers()
    node.logger.info({ role: node.role, addresses: node.addresses }, 'endpoint started')
    return new Endpoint<M>(node)
  }

  /** This endpoint's UUID. */
  get id(): EndpointId {
    return this.#node.id
  }

  /** `host` (no parent), `relay` (parent and children) or `client` (parent, no children). */
  get role(): Role {
    return this.#node.role
  }

  /**
   * The bound addresses, resolved (real ports); what children pass as `join`. Throws
   * `InvalidArgumentError` when the endpoint was started without `bind`.
   *
   * @example
   * ```ts
   * host.addresses // { inbound: 'tcp://127.0.0.1:40001', outbound: 'tcp://127.0.0.1:40002' }
   * ```
   */
  get addresses(): EndpointAddresses {
    const a = this.#node.addresses
    if (!a) throw new InvalidArgumentError('This endpoint binds nothing (it was started without `bind`), so it has no addresses to join.')
    return a
  }

  /** The root's current term. */
  get epoch(): number {
    return this.#node.succession.epoch
  }

  /**
   * Who is around this endpoint. With children: every child (a leaf that binds nothing has
   * `addresses` undefined). Without: its parent's roster, which lists only the members of this
   * level that can be promoted (they bind) — what the succession needs; on a leaf such as a
   * browser tab among other tabs it is often empty. To count the people on a document, use
   * `doc.presence`.
   */
  get peers(): Peer[] {
    return this.#node.children.size > 0 ? this.#node.children.peers() : [...this.#node.succession.siblings]
  }

  /**
   * Whether this endpoint is part of a tree now: the root, or welcomed by a parent that has
   * not gone silent. False while a leaf started with `waitForParent: false` has not joined,
   * and from 'parent-lost' to 'parent-back'.
   */
  get connected(): boolean {
    return this.#node.connected
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#node.closed
  }

  /**
   * Subscribes to an event (dispatched on a microtask); returns an unsubscribe function.
   *
   * @example
   * ```ts
   * const off = endpoint.on('role', (role) => console.log('now', role))
   * endpoint.on('peers', (peers) => console.log(peers.length, 'peers'))
   * off()
   * ```
   */
  on<K extends keyof EndpointEvents>(event: K, listener: (...args: EndpointEvents[K]) => void): () => void {
    return this.#node.events.on(event, listener)
  }

  /** Like {@link Endpoint.on}, for the next event only; returns a function that removes it. */
  once<K extends keyof EndpointEvents>(event: K, listener: (...args: EndpointEvents[K]) => void): () => void {
    return this.#node.events.once(event, listener)
  }

  /** Removes a listener added with `on` or `once`. */
  off<K extends keyof EndpointEvents>(event: K, listener: (...args: EndpointEvents[K]) => void): void {
    this.#node.events.off(event, listener)
  }

  /**
   * Opens a document: its state is the root's (seeded with `initial` if the root has none).
   * Resolves once the state has arrived. Rejects with `AccessDeniedError` when refused,
   * `AbortError` when `signal` aborts, `TimeoutError` after `timeoutMs`. `P` types presence.
   *
   * @example
   * ```ts
   * type Board = { notes: Record<string, string> }
   * const doc = await endpoint.open<Board, { cursor: [number, number] }>('board-1', { initial: { notes: {} } })
   * ```
   */
  async open<S extends object = Record<string, unknown>, P = unknown>(id: string, options: OpenOptions<S> = {}): Promise<Document<S, P>> {
    const node = this.#node
    node.assertOpen()
    throwIfAborted(options.signal, `Opening document "${id}"`)
    if (!isValidDocId(id)) throw new InvalidArgumentError(`Document id ${JSON.stringify(id)} is invalid: use 1-256 characters without control characters.`)
    const doc = id as DocId
    if (options.initial !== undefined && (typeof options.initial !== 'object' || options.initial === null))
      throw new InvalidArgumentError('open(id, { initial }) takes an object or array as the initial state.')
    let replica = node.replicas.get(doc)
    if (!replica && node.succession.isRoot) replica = await node.replicas.openAtRoot(doc, options.initial ?? {})
    if (!replica) {
      replica = node.replicas.create(doc)
      // A leaf with a local store: what it kept is shown at once (offline too), then brought up to date.
      if (node.opts.leafStorage) await openFromLeafStorage(node, replica, node.opts.leafStorage)
      const hasInitial = options.initial !== undefined
      node.replicas.requestOpen(replica, { hasInitial, initial: hasInitial ? encodeJson(options.initial) : new Uint8Array(0) })
    }
    replica.localOpens++
    try {
      await this.#whenReady(replica, options.timeoutMs ?? node.opts.joinTimeoutMs, options.signal)
    } catch (error) {
      replica.localOpens--
      node.replicas.drop(replica)
      throw error
    }
    return new Document<S, P>(replica, { setPresence: (d, v) => this.#setPresence(d, v), closeDocument: (d) => this.#closeDocument(d) }, { undoLimit: node.opts.undoLimit })
  }

  #whenReady(replica: Replica, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (replica.ready) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      const offs: Array<() => void> = []
      const done = (error?: Error) => {
        offs.forEach((off) => off())
        clearTimeout(timer)
        if (error) reject(error)
        else resolve()
      }
      offs.push(replica.events.on('ready', () => done()))
      offs.push(replica.events.on('refused', (error) => done(error)))
      offs.push(this.#node.events.on('closed', () => done(new ClosedError(`Endpoint ${this.id}`))))
      const timer = setTimeout(() => {
        // The root may have said why it cannot serve the document yet (e.g. it is in a store it cannot read).
        const why = this.#node.replicas.unavailableReason(replica.doc)
        done(
          new TimeoutError(
            `Opening document "${replica.doc}"`,
            timeoutMs,
            why ? `The root could not serve it: ${why}.` : 'The parent did not send the document; check that it is running and reachable.',
          ),
        )
      }, timeoutMs)
      if (signal) {
        const onAbort = () => done(new AbortError(`Opening document "${replica.doc}"`))
        if (signal.aborted) onAbort()
        signal.addEventListener('abort', onAbort, { once: true })
        offs.push(() => signal.removeEventListener('abort', onAbort))
      }
    })
  }

  /** Presence values set in this tick and not sent yet, per document (the last one wins). */
  readonly #presenceOut = new Map<DocId, { replica: Replica; value: unknown }>()

  /**
   * Sets this endpoint's presence at once locally; sends it once per tick, the last value
   * set in it (a pointer moving fires more often than anyone can see).
   */
  #setPresence(doc: DocId, value: unknown): void {
    const replica = this.#node.replicas.get(doc)
    if (!replica) return
    replica.setPresence(this.id, value ?? null)
    const queued = this.#presenceOut.size > 0
    this.#presenceOut.set(doc, { replica, value: value ?? null })
    if (!queued) this.#node.defer(() => this.#sendPresence())
  }

  #sendPresence(): void {
    const node = this.#node
    for (const { replica, value } of this.#presenceOut.values()) {
      const bytes = replica.presenceMessage(this.id, value)
      if (node.succession.isRoot) node.presenceOut.publish(replica.doc, this.id, bytes)
      else node.presenceOut.forward(replica.doc, this.id, bytes)
    }
    this.#presenceOut.clear()
  }

  async #closeDocument(doc: DocId): Promise<void> {
    const node = this.#node
    const replica = node.replicas.get(doc)
    if (!replica || node.closed) return
    replica.localOpens--
    if (replica.localOpens === 0 && replica.presence.has(this.id)) {
      this.#setPresence(doc, null)
      // Now, before the close: the clear must not trail the document's CLOSE.
      this.#sendPresence()
    }
    node.replicas.drop(replica)
  }

  /**
   * Registers the handler of an application message kind (replacing any earlier one).
   * Returns a function that unregisters it. With a typed {@link MessageMap} the payload's type
   * follows from the kind; otherwise give it as the type argument.
   *
   * Given `{ worker }` instead of a function, the handler runs in a pool of worker threads, so
   * CPU-heavy work does not hold back the endpoint's documents and heartbeats; the returned
   * promise resolves once the module is loaded (and rejects with `HandlerLoadError` naming the
   * file when it cannot be). Options and guarantees: {@link WorkerHandlerOptions}.
   *
   * @example
   * ```ts
   * const off = endpoint.handle<{ text: string }>('chat', (message) => console.log(message.payload.text))
   * const stop = await endpoint.handle('thumbnail', { worker: new URL('./thumbnail.js', import.meta.url), timeoutMs: 5000 })
   * ```
   */
  handle<K extends keyof M & string>(kind: K, handler: MessageHandler<M[K]>): () => void
  handle<P = unknown>(kind: string, handler: MessageHandler<P>): () => void
  handle<K extends keyof M & string, R = unknown>(kind: K, handler: WorkerHandlerOptions<M[K], R>): Promise<() => void>
  handle<P = unknown, R = unknown>(kind: string, handler: WorkerHandlerOptions<P, R>): Promise<() => void>
  handle(kind: string, handler: MessageHandler | WorkerHandlerOptions): (() => void) | Promise<() => void> {
    this.#node.assertOpen()
    if (!isValidAppKind(kind)) throw new InvalidArgumentError(`Message kind ${JSON.stringify(kind)} is invalid: use 1-128 printable ASCII characters.`)
    if (handler !== null && typeof handler === 'object' && 'worker' in handler) return this.#node.appHandlers.setWorker(kind, handler)
    if (typeof handler !== 'function' && typeof handler?.handle !== 'function')
      throw new InvalidArgumentError('handle(kind, handler) takes a function, an object with a handle(message, context) method, or { worker: URL } to run it in worker threads.')
    return this.#node.appHandlers.set(kind, handler)
  }

  /**
   * Sends an application message to every other endpoint of the tree (not back to this one).
   * The payload arrives as it was given: a Uint8Array, a string, or any JSON-serialisable value.
   *
   * @example
   * ```ts
   * await endpoint.publish('chat', { text: 'hi' })
   * ```
   */
  async publish<K extends keyof M & string>(kind: K, payload: M[K], options: PublishOptions = {}): Promise<void> {
    const node = this.#node
    node.assertOpen()
    throwIfAborted(options.signal, `publish('${kind}')`)
    if (!isValidAppKind(kind)) throw new InvalidArgumentError(`Message kind ${JSON.stringify(kind)} is invalid: use 1-128 printable ASCII characters.`)
    let encoded: { bytes: Uint8Array; encoding: number }
    try {
      encoded = encodeAppPayload(payload)
    } catch (error) {
      throw new InvalidArgumentError(`${(error as Error).message}`)
    }
    if (encoded.bytes.byteLength + 1024 > node.opts.maxMessageBytes) throw new MessageTooLargeError(encoded.bytes.byteLength, node.opts.maxMessageBytes)
    node.sendUp(encodeMessage({ kind: Kind.APP, origin: node.id, epoch: node.succession.epoch, appKind: kind, payload: encoded.bytes, encoding: encoded.encoding }))
  }

  /**
   * A snapshot of the counters and gauges.
   *
   * @example
   * ```ts
   * const { sent, received, badFrames, resyncs, handlerLatency } = endpoint.stats()
   * ```
   */
  stats(): EndpointStats {
    const node = this.#node
    const s = structuredClone(node.stats)
    s.pending = [...node.replicas.values()].reduce((n, r) => n + r.pending.length, 0)
    s.queueDepth = node.queueDepth
    s.children = node.children.size
    s.descendants = node.children.descendants
    s.epoch = node.succession.epoch
    s.docs = Object.fromEntries([...node.replicas.values()].map((r) => [r.doc, r.seq]))
    s.wire = wireStats([node.opts.transport, node.opts.joinTransport])
    return s
  }

  /** Stops everything: says goodbye, closes every channel. Idempotent; never throws. */
  async close(): Promise<void> {
    await this.#node.close()
  }

  /** Same as {@link Endpoint.close}, for `await using endpoint = await Endpoint.start(…)`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}
