import { ClosedError, InvalidArgumentError, WorkerTaskError } from '../errors.js'
import type { EndpointId } from '../ids.js'
import type { Logger } from '../logger.js'
import type { Message } from '../protocol/codec.js'
import type { WorkerCounters } from '../runtime/stats.js'
import type { WorkerThreadOptions } from '../runtime/worker-options.js'
import type { WorkerPool } from '../runtime/worker-pool.js'
import { appMessage, runHandler, type AppMessage, type HandlerContext, type MessageHandler } from './app-messages.js'

/**
 * A handler that runs in worker threads: `endpoint.handle(kind, { worker: new URL('./x.js',
 * import.meta.url) })`. The module's default export (or `export`) is a `WorkerMessageHandler`.
 */
export interface WorkerHandlerOptions<P = any, R = unknown> extends WorkerThreadOptions {
  /** The handler module: a `file:` URL (`new URL('./thumbnail.js', import.meta.url)`) or an absolute path. */
  worker: URL | string
  /**
   * Which messages keep their order. `'kind'` (default): every message of the kind runs one at
   * a time in arrival order, as inline handlers do. `'origin'`: each publisher's messages in
   * order, different publishers' at once (one thread each). A function: messages with the same
   * key in order, e.g. `(m) => m.json<{ doc: string }>().doc` for one order per document.
   */
  orderBy?: 'kind' | 'origin' | ((message: AppMessage<P>) => string)
  /** Gets what the handler returned, on the endpoint's thread (bytes arrive moved, not copied). */
  onResult?: (result: R, message: AppMessage<P>) => void | Promise<void>
  /** Gets each message the worker did not complete (it is also logged and counted). */
  onError?: (error: WorkerTaskError, message: AppMessage<P>) => void
}

/**
 * The export of a worker handler module. It runs in a worker thread: it gets the message as an
 * inline handler does, and a `context.logger` whose lines reach the endpoint's logger when the
 * message is done. What it returns goes to `onResult`: plain data, or bytes (moved, not copied,
 * when they fill their buffer).
 */
export type WorkerMessageHandler<P = any, R = unknown> = (message: AppMessage<P>, context: HandlerContext) => R | Promise<R>

interface WorkerEntry {
  pool: WorkerPool
  options: WorkerHandlerOptions
}

type Entry = { inline: MessageHandler } | { worker: WorkerEntry }

/** What the table needs from its endpoint. */
export interface AppHandlersDeps {
  readonly id: EndpointId
  readonly logger: Logger
  readonly stats: WorkerCounters
  readonly closed: boolean
}

/**
 * The endpoint's kind → handler table for application messages, inline or in worker threads.
 * It owns the worker pools: a pool lives from its registration until the handler is replaced,
 * unregistered, or the endpoint closes.
 */
export class AppHandlers {
  readonly #deps: AppHandlersDeps
  readonly #entries = new Map<string, Entry>()

  constructor(deps: AppHandlersDeps) {
    this.#deps = deps
  }

  has(kind: string): boolean {
    return this.#entries.has(kind)
  }

  /** Registers an inline handler; returns its unregister function. */
  set(kind: string, handler: MessageHandler): () => void {
    const entry: Entry = { inline: handler }
    this.#replace(kind, entry)
    return () => {
      if (this.#entries.get(kind) === entry) this.#replace(kind, undefined)
    }
  }

  /**
   * Starts the handler's pool and loads its module; only then registers it. Rejects with
   * `HandlerLoadError` naming the file when the module cannot be used.
   */
  async setWorker(kind: string, options: WorkerHandlerOptions): Promise<() => void> {
    if (options.orderBy !== undefined && options.orderBy !== 'kind' && options.orderBy !== 'origin' && typeof options.orderBy !== 'function')
      throw new InvalidArgumentError(`orderBy is 'kind', 'origin' or a function of the message, got ${JSON.stringify(options.orderBy)}.`)
    // Loaded on first use: endpoints without worker handlers never load piscina, and browser
    // bundles get worker-pool.browser.js instead (see the package's `browser` field).
    const { WorkerPool } = await import('../runtime/worker-pool.js')
    const { worker, orderBy: _orderBy, onResult: _onResult, onError: _onError, ...threads } = options
    const pool = await WorkerPool.open({ ...threads, module: worker, logger: this.#deps.logger.child({ kind }), counters: this.#deps.stats })
    if (this.#deps.closed) {
      await pool.close()
      throw new ClosedError(`Endpoint ${this.#deps.id}`)
    }
    const entry: Entry = { worker: { pool, options } }
    this.#replace(kind, entry)
    return () => {
      if (this.#entries.get(kind) === entry) this.#replace(kind, undefined)
    }
  }

  /** The pool lane of an application message: its kind, or finer when a worker handler's `orderBy` says so. */
  lane(m: Message): string {
    const entry = this.#entries.get(m.appKind)
    const orderBy = entry && 'worker' in entry ? entry.worker.options.orderBy : undefined
    if (orderBy === 'origin') return `app:${m.appKind}\u0000${m.origin}`
    if (typeof orderBy === 'function') {
      try {
        return `app:${m.appKind}\u0000${String(orderBy(appMessage(m.appKind, m.origin as EndpointId, m.payload, m.encoding)))}`
      } catch (error) {
        this.#deps.logger.warn({ err: error, kind: m.appKind }, 'orderBy threw; the message keeps the order of its kind')
      }
    }
    return `app:${m.appKind}`
  }

  /** Runs the kind's handler on `m`; the promise (if any) settles when it is done. */
  deliver(m: Message): void | Promise<void> {
    const entry = this.#entries.get(m.appKind)
    if (!entry) return
    const context: HandlerContext = { endpoint: this.#deps.id, logger: this.#deps.logger }
    const message = appMessage(m.appKind, m.origin as EndpointId, m.payload, m.encoding)
    if ('inline' in entry) return runHandler(entry.inline, message, context)
    return this.#runInWorker(entry.worker, m, message)
  }

  async #runInWorker({ pool, options }: WorkerEntry, m: Message, message: AppMessage): Promise<void> {
    let result: unknown
    try {
      result = await pool.run({ op: 'message', endpoint: this.#deps.id, kind: m.appKind, origin: m.origin, payload: m.payload, encoding: m.encoding })
    } catch (error) {
      // Closing drops what was in flight, as it drops what was queued: not the handler's failure.
      if (error instanceof ClosedError) return
      if (error instanceof WorkerTaskError && options.onError) {
        try {
          options.onError(error, message)
        } catch (hookError) {
          this.#deps.logger.warn({ err: hookError, kind: m.appKind }, 'onError threw')
        }
      }
      throw error // the handler pool counts it in handlerErrors and logs it
    }
    await options.onResult?.(result, message)
  }

  /** Stops every worker pool now. */
  async close(): Promise<void> {
    const pools = [...this.#entries.values()].flatMap((e) => ('worker' in e ? [e.worker.pool] : []))
    this.#entries.clear()
    await Promise.allSettled(pools.map((p) => p.close()))
  }

  #replace(kind: string, entry: Entry | undefined): void {
    const old = this.#entries.get(kind)
    if (entry) this.#entries.set(kind, entry)
    else this.#entries.delete(kind)
    // Messages already running on the old pool finish there; new ones go to the new handler.
    if (old && 'worker' in old) {
      old.worker.pool.close({ drain: true }).catch((error: unknown) => this.#deps.logger.warn({ err: error, kind }, 'closing a worker pool failed'))
    }
  }
}
