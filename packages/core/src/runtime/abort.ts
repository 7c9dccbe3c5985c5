import { AbortError, TimeoutError } from '../errors.js'

/** Throws `AbortError` (naming `what`) when `signal` is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new AbortError(what)
}

/** How long to wait, and what to say when it takes too long. */
export interface WaitOptions {
  signal?: AbortSignal | undefined
  timeoutMs?: number | undefined
  /** The call, as the errors name it: `Opening document "x"`. */
  what: string
  /** What to do about a timeout (TimeoutError's hint). */
  hint?: string
}

/**
 * `promise`, or a rejection with `AbortError` when `signal` aborts first, or `TimeoutError`
 * after `timeoutMs`. Every wait of the public API goes through here, so each rejects alike.
 */
export async function bounded<T>(promise: Promise<T>, options: WaitOptions): Promise<T> {
  const { signal, timeoutMs, what } = options
  throwIfAborted(signal, what)
  if (timeoutMs === undefined && !signal) return promise
  let timer: ReturnType<typeof setTimeout> | undefined
  let onAbort: (() => void) | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        if (timeoutMs !== undefined) timer = setTimeout(() => reject(new TimeoutError(what, timeoutMs, options.hint ?? '')), timeoutMs)
        if (signal) {
          onAbort = () => reject(new AbortError(what))
          signal.addEventListener('abort', onAbort, { once: true })
        }
      }),
    ])
  } finally {
    if (timer) clearTimeout(timer)
    if (signal && onAbort) signal.removeEventListener('abort', onAbort)
  }
}
