/**
 * A pool of worker threads running one application module: the engine under
 * `endpoint.handle(kind, { worker })` and `workerFunction(module)`. Node.js only (bundlers for
 * the browser get `worker-pool.browser.ts` through the package's `browser` field).
 *
 * Built on piscina (https://github.com/piscinajs/piscina), the Node.js project's own worker
 * pool: it replaces a thread that dies, terminates one whose task is aborted, moves
 * transferables, and unrefs idle threads. What it does not decide is ours: which failures are
 * worth a retry, the time limit, the registration check, and counting.
 *
 * Failures are told apart by where they surface. The handler's own exception comes back as a
 * normal reply (`worker-entry.ts` catches it), so a rejected task means the thread is gone:
 * aborted by our time limit (`timeout`) or dead under the task (`crashed`, retried on a fresh
 * thread up to `retries` times: a thread's death says nothing certain about the message).
 */
import { access } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { isAbsolute } from 'node:path'
import { Piscina } from 'piscina'
import { ClosedError, HandlerLoadError, InvalidArgumentError, WorkerTaskError } from '../errors.js'
import { silentLogger, type Logger } from '../logger.js'
import type { WorkerCounters } from './stats.js'
import type { WorkerThreadOptions } from './worker-options.js'
import { TASK_STARTED, type LogRecord, type WorkerReply, type WorkerTask } from './worker-entry.js'

/** How a worker pool runs its module. */
export interface WorkerPoolOptions extends WorkerThreadOptions {
  /** The module: a `file:` URL (`new URL('./x.js', import.meta.url)`) or an absolute path. */
  module: URL | string
  /** Where the lines the module logs through `context.logger` go (replayed when its task ends). */
  logger?: Logger
  /** Counted into (an endpoint passes its stats); the pool's own otherwise. */
  counters?: WorkerCounters
}

/**
 * A task's input. A message's `payload` is copied once per attempt into a buffer of its own,
 * which is moved (not cloned) to the thread: the frame it came in belongs to the transport
 * (other subscribers in this process, the copy forwarded on), so it cannot be moved itself,
 * and cloning a view would copy its whole underlying buffer, not only the payload.
 */
export type TaskInput = { op: 'call'; input: unknown } | { op: 'message'; endpoint: string; kind: string; origin: string; payload: Uint8Array; encoding: number }

export const WORKER_DEFAULTS = { timeoutMs: 30_000, retries: 1 } as const

/** A thread beyond the first stops after this long without work. */
const IDLE_THREAD_MS = 60_000
/**
 * How long a task may wait for a thread to start and load the module before its own time limit
 * starts (a thread replaced after a crash, a second one started on demand, on a loaded machine).
 */
const START_LIMIT_MS = 60_000

const ENTRY = fileURLToPath(new URL('./worker-entry.js', import.meta.url))

export function defaultThreads(): number {
  return Math.max(1, availableParallelism() - 1)
}

/** The module as a `file:` URL string, or an InvalidArgumentError saying how to name it. */
export function moduleHref(module: URL | string): string {
  if (module instanceof URL) return module.href
  if (typeof module === 'string' && /^(file|data):/.test(module)) return new URL(module).href
  if (typeof module === 'string' && isAbsolute(module)) return pathToFileURL(module).href
  throw new InvalidArgumentError(
    `A worker module is given as a URL or an absolute path, got ${JSON.stringify(module)}. Use new URL('./handler.js', import.meta.url) to name a file next to the calling module.`,
  )
}

/** For messages: the path of a `file:` URL, the URL otherwise. */
export function moduleName(href: string): string {
  return href.startsWith('file:') ? fileURLToPath(href) : href
}

export class WorkerPool {
  readonly href: string
  readonly name: string
  readonly counters: WorkerCounters
  readonly #export: string
  readonly #timeoutMs: number
  readonly #retries: number
  readonly #piscina: Piscina
  readonly #logger: Logger
  /** Threads not running a task: a task is handed to piscina only when one is, so it never waits in piscina's queue behind long tasks (and past START_LIMIT_MS). */
  #idle: number
  readonly #waiting: Array<() => void> = []
  /** Tasks handed to piscina, by id: called when their thread says the handler starts. */
  readonly #started = new Map<number, () => void>()
  #nextId = 1
  #closed = false

  private constructor(href: string, options: WorkerPoolOptions) {
    this.href = href
    this.name = moduleName(href)
    this.#export = options.export ?? 'default'
    this.#timeoutMs = options.timeoutMs ?? WORKER_DEFAULTS.timeoutMs
    this.#retries = options.retries ?? WORKER_DEFAULTS.retries
    this.#logger = options.logger ?? silentLogger
    this.counters = options.counters ?? { workerTasks: 0, workerErrors: 0, workerTimeouts: 0, workerCrashes: 0, workerRetries: 0 }
    const threads = options.threads ?? defaultThreads()
    this.#idle = threads
    // One thread is kept warm (the module loaded at registration); more start when messages run
    // at once (orderBy), and stop after a minute idle: a handler whose kind keeps one order
    // never needs a second thread, and a big machine should not hold cores − 1 idle isolates
    // per registered kind.
    this.#piscina = new Piscina({
      filename: ENTRY,
      minThreads: 1,
      maxThreads: threads,
      idleTimeout: IDLE_THREAD_MS,
      ...(options.memoryLimitMb !== undefined && { resourceLimits: { maxOldGenerationSizeMb: options.memoryLimitMb } }),
    })
    // A thread that fails between tasks (a stray timer throwing) is replaced by piscina; without
    // a listener, the 'error' event would throw out of the endpoint's process.
    this.#piscina.on('error', () => {
      this.counters.workerCrashes++
    })
    this.#piscina.on('message', (m: unknown) => {
      const id = (m as Record<string, unknown> | null)?.[TASK_STARTED]
      if (typeof id === 'number') this.#started.get(id)?.()
    })
  }

  /**
   * Starts the threads and loads the module in one of them. Rejects with `HandlerLoadError`
   * naming the file when it is missing, does not load, or exports no function by that name.
   */
  static async open(options: WorkerPoolOptions): Promise<WorkerPool> {
    const href = moduleHref(options.module)
    const name = moduleName(href)
    if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads >= 1))
      throw new InvalidArgumentError(`threads must be a whole number of at least 1, got ${options.threads}.`)
    if (options.timeoutMs !== undefined && !(options.timeoutMs > 0)) throw new InvalidArgumentError(`timeoutMs must be positive, got ${options.timeoutMs}.`)
    if (options.retries !== undefined && !(Number.isInteger(options.retries) && options.retries >= 0))
      throw new InvalidArgumentError(`retries must be a whole number of at least 0, got ${options.retries}.`)
    if (options.memoryLimitMb !== undefined && !(options.memoryLimitMb >= 8)) throw new InvalidArgumentError(`memoryLimitMb must be at least 8, got ${options.memoryLimitMb}.`)
    if (href.startsWith('file:')) {
      try {
        await access(name)
      } catch (error) {
        throw new HandlerLoadError(name, 'no such file', { cause: error })
      }
    }
    const pool = new WorkerPool(href, options)
    let reply: WorkerReply
    try {
      // Bounded by the start limit, not timeoutMs: starting a thread can take longer than a handler may.
      reply = (await pool.#piscina.run({ op: 'load', module: href, export: pool.#export } satisfies WorkerTask, { signal: AbortSignal.timeout(START_LIMIT_MS) })) as WorkerReply
    } catch (error) {
      await pool.close()
      const aborted = (error as Error)?.name === 'AbortError'
      throw new HandlerLoadError(
        name,
        aborted ? `it did not load within ${START_LIMIT_MS} ms (a top-level await that never settles?)` : `its worker thread died while loading it (${(error as Error).message})`,
        { cause: error },
      )
    }
    if (!reply.ok) {
      await pool.close()
      throw new HandlerLoadError(name, reply.error.message)
    }
    return pool
  }

  /**
   * Runs one task; resolves with the handler's result. Rejects with `WorkerTaskError` (threw,
   * timeout, crashed), or with `ClosedError` once the pool is closed (a task still running then
   * is not the handler's failure).
   */
  async run(input: TaskInput): Promise<unknown> {
    await this.#acquire()
    try {
      return await this.#attempts(input)
    } finally {
      this.#release()
    }
  }

  async #acquire(): Promise<void> {
    if (this.#idle > 0 && this.#waiting.length === 0) {
      this.#idle--
      return
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve))
  }

  #release(): void {
    const next = this.#waiting.shift()
    if (next) next()
    else this.#idle++
  }

  async #attempts(input: TaskInput): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      if (this.#closed) throw new ClosedError(`The worker pool of ${this.name}`)
      const id = this.#nextId++
      let task: WorkerTask
      let transferList: ArrayBuffer[] = []
      if (input.op === 'call') task = { op: 'call', id, module: this.href, export: this.#export, input: input.input }
      else {
        const bytes = new Uint8Array(input.payload) // the one copy (see TaskInput)
        transferList = bytes.byteLength > 0 ? [bytes.buffer] : []
        task = { op: 'message', id, module: this.href, export: this.#export, endpoint: input.endpoint, kind: input.kind, origin: input.origin, bytes, encoding: input.encoding }
      }
      // Two limits: START_LIMIT_MS until a thread runs it, then timeoutMs for the handler itself.
      const abort = new AbortController()
      let over: string | undefined
      const limit = (ms: number, what: string) => setTimeout(() => ((over = what), abort.abort()), ms)
      let timer = limit(START_LIMIT_MS, `no thread started it within ${START_LIMIT_MS} ms`)
      this.#started.set(id, () => {
        clearTimeout(timer)
        timer = limit(this.#timeoutMs, `${this.#timeoutMs} ms`)
      })
      let reply: WorkerReply
      try {
        reply = (await this.#piscina.run(task, { signal: abort.signal, transferList })) as WorkerReply
      } catch (error) {
        if (this.#closed) throw new ClosedError(`The worker pool of ${this.name}`)
        if (over !== undefined) {
          this.counters.workerTimeouts++
          throw new WorkerTaskError(this.name, 'timeout', over, attempt, { cause: error })
        }
        // A result structured clone cannot carry fails the same way every time: not a crash.
        if ((error as Error)?.name === 'DataCloneError') {
          this.counters.workerErrors++
          throw new WorkerTaskError(this.name, 'threw', `its result cannot be sent to the main thread (${(error as Error).message}); return plain data or bytes`, attempt, { cause: error })
        }
        this.counters.workerCrashes++
        if (attempt <= this.#retries) {
          this.counters.workerRetries++
          continue
        }
        throw new WorkerTaskError(this.name, 'crashed', (error as Error)?.message ?? String(error), attempt, { cause: error })
      } finally {
        clearTimeout(timer)
        this.#started.delete(id)
      }
      this.#replay(reply.logs)
      if (!reply.ok) {
        this.counters.workerErrors++
        const cause = Object.assign(new Error(reply.error.message), { name: reply.error.name, stack: reply.error.stack })
        throw new WorkerTaskError(this.name, 'threw', `${reply.error.name}: ${reply.error.message}`, attempt, { cause })
      }
      this.counters.workerTasks++
      return reply.value
    }
  }

  #replay(logs: LogRecord[]): void {
    for (const { level, obj, msg } of logs) this.#logger[level]({ ...obj, worker: this.name }, msg)
  }

  /** Threads alive now (replaced ones included). */
  get threads(): number {
    return this.#piscina.threads.length
  }

  /**
   * Stops the pool. With `drain`, tasks already running may finish (up to `timeoutMs`), as when
   * a handler is replaced; otherwise every thread stops now and running tasks reject with
   * `ClosedError`, as when the endpoint closes. Idempotent.
   */
  async close({ drain = false }: { drain?: boolean } = {}): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    // Waiting tasks wake, see the pool closed, and reject with ClosedError.
    for (const wake of this.#waiting.splice(0)) wake()
    if (drain) {
      const timer = new Promise<void>((resolve) => setTimeout(resolve, this.#timeoutMs).unref())
      await Promise.race([this.#piscina.close().catch(() => {}), timer])
    }
    await this.#piscina.destroy()
  }
}
