import { ZincError } from '@zinc/core'
import type { RootDatabase } from 'lmdb'
import type { Key } from './keys.js'

/**
 * The store's writes: each runs in an LMDB write transaction and resolves once its commit is
 * synced (see `Durability`). After a commit fails, every later write rejects with that error:
 * the store must be closed and reopened.
 */
export class CommitQueue {
  readonly #inflight = new Set<Promise<unknown>>()
  #failed: ZincError | undefined
  readonly #queue: Array<{ action: () => void; resolve: () => void; reject: (error: unknown) => void }> = []
  #timer: ReturnType<typeof setTimeout> | undefined

  /** `groupMs`: the `'group'` policy's wait; undefined under `'fsync'`. `mapError` names a failed commit. */
  constructor(
    readonly db: RootDatabase<Uint8Array, Key>,
    readonly groupMs: number | undefined,
    readonly mapError: (error: unknown) => Promise<ZincError>,
  ) {}

  /**
   * Runs `action` in a write transaction; resolves once its commit is synced (see Durability).
   * lmdb-js puts every transaction started in one event-loop turn into one commit (and its
   * `commitDelay` does not apply while it batches by turn), so `'group'` holds the actions here
   * for `groupCommitMs` and then starts them all in one turn: one commit, one sync.
   */
  write(action: () => void): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed)
    const done =
      this.groupMs === undefined
        ? this.#transact(action)
        : new Promise<void>((resolveWrite, rejectWrite) => {
            this.#queue.push({ action, resolve: resolveWrite, reject: rejectWrite })
            this.#timer ??= setTimeout(() => this.flush(), this.groupMs)
          })
    this.#inflight.add(done)
    const forget = (): void => void this.#inflight.delete(done)
    done.then(forget, forget)
    return done
  }

  /** Starts every queued action now, in call order and in one event-loop turn (so one commit). */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
    for (const { action, resolve, reject } of this.#queue.splice(0)) {
      if (this.#failed) reject(this.#failed)
      else this.#transact(action).then(resolve, reject)
    }
  }

  #transact(action: () => void): Promise<void> {
    return this.db.transaction(action).then(
      () => undefined,
      async (error: unknown) => {
        if (error instanceof ZincError) throw error
        const mapped = await this.mapError(error)
        this.#failed ??= mapped
        throw mapped
      },
    )
  }

  /** Settles once every write issued so far has. */
  settled(): Promise<unknown> {
    return Promise.allSettled([...this.#inflight])
  }
}
