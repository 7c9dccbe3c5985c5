import { HookError } from '../errors.js'
import type { DocId } from '../ids.js'
import type { Logger } from '../logger.js'
import type { Clock, TimerHandle } from '../runtime/clock.js'
import type { EndpointStats } from '../runtime/stats.js'
import { callHook, type ChangeEvent, type ChangeRequest, type ServerHooks, type StoreRequest, type Verdict } from './hooks.js'

export interface HookRunnerPorts {
  readonly hooks: ServerHooks
  readonly timeoutMs: number
  readonly storeDebounceMs: number
  readonly clock: Clock
  readonly logger: Logger
  readonly stats: EndpointStats
  /** A hook failure the application may want to show (the endpoint's `error` event). */
  reportError(error: HookError): void
}

interface StoreState {
  timer: TimerHandle | undefined
  /** When the first change not yet stored arrived (the debounce never waits past 5× from it). */
  since: number
  running: Promise<void> | undefined
  /** A change arrived while a store ran: store again after it. */
  again: boolean
  /** The last store failed: the next change or close stores again (no retry loop on its own). */
  failed: boolean
  read: () => StoreRequest
}

/** How much longer than the debounce a store may be put off while changes keep coming. */
const MAX_WAIT_FACTOR = 5

/**
 * Runs the root's server hooks (see {@link ServerHooks}) so that none of them can stop the
 * endpoint: each call bounded by `hookTimeoutMs`, failures turned into refusals (validate,
 * onLoad) or logged and counted (onChange, onStore). onChange calls of one document run one at
 * a time in seq order; onStore is debounced per document and flushed on close.
 */
export class HookRunner {
  readonly #changes = new Map<DocId, Promise<void>>()
  readonly #stores = new Map<DocId, StoreState>()
  #closed = false
  /** Set when close() stopped waiting for onChange: calls not started by then are skipped. */
  #stopped = false

  constructor(readonly ports: HookRunnerPorts) {}

  get validates(): boolean {
    return this.ports.hooks.validate !== undefined
  }

  get notifies(): boolean {
    return this.ports.hooks.onChange !== undefined || this.ports.hooks.onStore !== undefined
  }

  /** The validate hook's verdict; never throws or rejects: a failure is a refusal saying so. */
  validate(request: ChangeRequest): Verdict | Promise<Verdict> {
    const hook = this.ports.hooks.validate
    if (!hook) return true
    try {
      const verdict = this.#call('validate', () => hook(request))
      if (verdict instanceof Promise) return verdict.then(checkVerdict, (error: unknown) => this.#refusal(error))
      return checkVerdict(verdict)
    } catch (error) {
      return this.#refusal(error)
    }
  }

  /** Sequenced (and durable) changes of `doc`: onChange for each, in order; onStore later. */
  sequenced(doc: DocId, events: readonly ChangeEvent[], read: () => StoreRequest): void {
    const onChange = this.ports.hooks.onChange
    if (onChange && events.length > 0) {
      const previous = this.#changes.get(doc) ?? Promise.resolve()
      const next = previous.then(async () => {
        for (const event of events) {
          if (this.#stopped) {
            this.ports.logger.warn({ doc, seq: event.seq }, 'closing: onChange not called for this change')
            continue
          }
          try {
            await this.#call('onChange', () => onChange(event))
          } catch (error) {
            this.#failed(error, { doc, seq: event.seq })
          }
        }
      })
      this.#changes.set(doc, next)
      void next.then(() => {
        if (this.#changes.get(doc) === next) this.#changes.delete(doc)
      })
    }
    if (this.ports.hooks.onStore) this.#touch(doc, read)
  }

  /** The onLoad hook's answer for `doc` (undefined: not in the application's database). Throws `HookError`. */
  load(doc: DocId): unknown {
    const onLoad = this.ports.hooks.onLoad
    if (!onLoad) return undefined
    const failed = (error: unknown): never => {
      this.#failed(error, { doc })
      throw error
    }
    try {
      const loaded = this.#call('onLoad', () => onLoad({ doc }))
      return loaded instanceof Promise ? loaded.catch(failed) : loaded
    } catch (error) {
      return failed(error)
    }
  }

  /**
   * Waits for the queued onChange calls (at most `hookTimeoutMs` in all: later ones are skipped
   * and logged), then stores every document changed since its last store.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    let timer: TimerHandle | undefined
    const waited = new Promise<void>((resolve) => (timer = this.ports.clock.setTimeout(resolve, this.ports.timeoutMs)))
    await Promise.race([Promise.allSettled([...this.#changes.values()]), waited])
    this.ports.clock.clearTimeout(timer)
    this.#stopped = true
    await Promise.allSettled(
      [...this.#stores.entries()].map(async ([doc, s]) => {
        this.ports.clock.clearTimeout(s.timer)
        await s.running
        if (s.timer !== undefined || s.again || s.failed) await this.#store(doc, s)
      }),
    )
  }

  #touch(doc: DocId, read: () => StoreRequest): void {
    const clock = this.ports.clock
    let s = this.#stores.get(doc)
    if (!s) this.#stores.set(doc, (s = { timer: undefined, since: clock.now(), running: undefined, again: false, failed: false, read }))
    s.read = read
    if (this.#closed) return
    if (s.running) {
      s.again = true
      return
    }
    if (s.timer === undefined) s.since = clock.now()
    clock.clearTimeout(s.timer)
    const debounce = this.ports.storeDebounceMs
    const wait = Math.max(0, Math.min(debounce, s.since + MAX_WAIT_FACTOR * debounce - clock.now()))
    const state = s
    s.timer = clock.setTimeout(() => void this.#store(doc, state), wait)
  }

  async #store(doc: DocId, s: StoreState): Promise<void> {
    const onStore = this.ports.hooks.onStore!
    s.timer = undefined
    s.again = false
    s.failed = false
    const request = s.read()
    s.running = (async () => {
      try {
        await this.#call('onStore', () => onStore(request))
      } catch (error) {
        // Kept changed: the next change (or close) stores it again.
        this.#failed(error, { doc, seq: request.seq })
        s.failed = true
      }
    })()
    await s.running
    s.running = undefined
    if (s.again && !this.#closed) {
      s.again = false
      this.#touch(doc, s.read)
    }
  }

  #call<T>(hook: string, call: () => T | Promise<T>): T | Promise<T> {
    return callHook(hook, call, this.ports.timeoutMs, this.ports.clock)
  }

  /** A validate failure: counted, reported, and the author told why in words it can act on. */
  #refusal(error: unknown): string {
    this.#failed(error, {})
    if (error instanceof HookError) {
      return error.timedOut ? `the root's validate hook did not answer within ${error.detail} ms` : `the root's validate hook failed (${error.detail})`
    }
    return `the root's validate hook failed (${String(error)})`
  }

  #failed(error: unknown, context: Record<string, unknown>): void {
    this.ports.stats.hookErrors++
    this.ports.logger.warn({ err: error, ...context }, 'a server hook failed')
    if (error instanceof HookError) this.ports.reportError(error)
  }
}

/** A validate hook must answer true, false or a reason; anything else is a refusal that says so. */
function checkVerdict(verdict: unknown): Verdict {
  if (typeof verdict === 'boolean' || typeof verdict === 'string') return verdict
  return `the root's validate hook answered ${typeof verdict} instead of true, false or a reason`
}
