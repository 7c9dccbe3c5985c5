import type { Logger } from '../logger.js'
import type { WorkerCounters } from './stats.js'
import type { WorkerThreadOptions } from './worker-options.js'

/** How `workerFunction` runs its module; a call past `timeoutMs` rejects with `WorkerTaskError` (reason `timeout`). */
export interface WorkerFunctionOptions extends WorkerThreadOptions {
  /** Where the lines the module logs go (it gets no logger argument: log with `console` or return data). */
  logger?: Logger
}

/**
 * An async function whose body runs in worker threads. Its argument and result are structured
 * clones (plain data, Maps, typed arrays; no functions). Close it when done (or `await using`).
 */
export interface WorkerFunction<A, R> {
  (input: A): Promise<R>
  /** What it has done: calls completed, threw, timed out, crashed threads, retries. */
  readonly stats: Readonly<WorkerCounters>
  /** Stops its threads; calls still running reject with `ClosedError`. */
  close(): Promise<void>
  /** `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>
}

/**
 * Runs a module's function in a pool of worker threads: for CPU-heavy work a root does outside
 * message handlers, such as the `validate` content hook parsing a large document. Resolves once
 * the module is loaded; rejects with `HandlerLoadError` naming the file when it cannot be.
 *
 * A call rejects with `WorkerTaskError` when the function throws (`threw`), runs past
 * `timeoutMs` (`timeout`), or its thread dies on every attempt (`crashed`): the thread is
 * replaced and later calls go on. A hook given such a function fails like any hook that throws:
 * the change it guarded is refused with that reason, never half-applied (the worker only
 * computes a verdict; the root applies).
 *
 * @example
 * ```ts
 * // validate.js: export default function validate({ after }) { return after.title?.length < 200 || 'title too long' }
 * await using validate = await workerFunction<ChangeRequest, Verdict>(new URL('./validate.js', import.meta.url))
 * const root = await Endpoint.start({ transport, bind, validate })
 * ```
 */
export async function workerFunction<A = unknown, R = unknown>(module: URL | string, options: WorkerFunctionOptions = {}): Promise<WorkerFunction<A, R>> {
  // Loaded on first use, so the browser bundle never includes worker threads (see worker-pool.browser.ts).
  const { WorkerPool } = await import('./worker-pool.js')
  const pool = await WorkerPool.open({ module, ...options })
  const call = (input: A) => pool.run({ op: 'call', input }) as Promise<R>
  const close = () => pool.close()
  return Object.assign(call, { stats: pool.counters, close, [Symbol.asyncDispose]: close })
}
