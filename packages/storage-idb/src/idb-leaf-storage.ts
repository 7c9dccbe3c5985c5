import { ClosedError, type DocId, type EndpointId, type LeafDocument, type LeafSnapshot, type LeafState, type LeafStorage } from '@zinc/core'
import { openLeafDatabase, type LeafDatabase } from './database.js'
import { claimIdentity, type Claim } from './identity-claim.js'

export interface IdbLeafStorageOptions {
  /** The IndexedDB database name (one per app; every tab of the app shares it). Default 'zinc'. */
  name?: string
  /** Default: navigator.locks when the browser has it. null: claim without locks (see claimIdentity). */
  locks?: LockManager | null
  /** Default: sessionStorage. null: no memory of this tab's identity across a reload. */
  session?: Pick<Storage, 'getItem' | 'setItem'> | null
  /** How long a reloaded tab waits for its own identity. Default: 3 s after a reload, else 0 (only if free). */
  waitForOwnMs?: number
}

/**
 * A browser tab's LeafStorage on IndexedDB (through `idb`, a ~1 kB promise wrapper that stays
 * close to the IndexedDB API and is widely used and maintained). Pass it as `leafStorage` to
 * `Endpoint.start`: the tab takes the identity it claimed, its documents open at once from
 * what it kept (offline too), and its pending changes are resent exactly once when it is back.
 *
 * Opening never fails and never leaves a blank page: a database that is damaged or not ours is
 * cleared, and an unusable IndexedDB means nothing is kept; either way `warnings` says so, for
 * the page to show.
 *
 * @example
 * ```ts
 * const leafStorage = await IdbLeafStorage.open({ name: 'my-app' })
 * for (const warning of leafStorage.warnings) showBanner(warning)
 * const endpoint = await Endpoint.start({ transport, join, leafStorage, waitForParent: false })
 * ```
 */
export class IdbLeafStorage implements LeafStorage {
  #closed = false
  readonly #db: LeafDatabase | undefined
  readonly #claim: Claim

  private constructor(
    readonly id: EndpointId,
    /** What went wrong opening the store (each a sentence for the page to show); empty when all is well. */
    readonly warnings: readonly string[],
    readonly name: string,
    /** False when nothing is kept (IndexedDB unusable here). */
    readonly persistent: boolean,
    db: LeafDatabase | undefined,
    claim: Claim,
  ) {
    this.#db = db
    this.#claim = claim
  }

  /** Opens (or creates) the app's database and claims this tab's identity in it. Never rejects for a bad store: see `warnings`. */
  static async open(options: IdbLeafStorageOptions = {}): Promise<IdbLeafStorage> {
    const name = options.name ?? 'zinc'
    const warnings: string[] = []
    const db = await openLeafDatabase(name, warnings)
    const claim = await claimIdentity(db, name, {
      locks: options.locks !== undefined ? options.locks : (globalThis.navigator?.locks ?? null),
      session: options.session !== undefined ? options.session : sessionStorageOrNull(),
      waitForOwnMs: options.waitForOwnMs ?? (reloaded() ? 3000 : 0),
    })
    return new IdbLeafStorage(claim.id, warnings, name, db !== undefined, db, claim)
  }

  async load(doc: DocId): Promise<LeafSnapshot | undefined> {
    const db = this.#open()
    if (!db) return undefined
    const tx = db.transaction(['docs', 'states'], 'readonly')
    const [record, state] = await Promise.all([tx.objectStore('docs').get([this.id, doc]), tx.objectStore('states').get([this.id, doc])])
    await tx.done
    if (record === undefined && state === undefined) return undefined
    // Whatever it holds is checked by the endpoint (isLeafSnapshot): a damaged pair is dropped with a warning.
    return { record, state } as LeafSnapshot
  }

  async save(doc: DocId, record: LeafDocument, state?: LeafState): Promise<void> {
    const db = this.#open()
    if (!db) return
    // One transaction: the record and the state it continues are written together or not at all.
    const tx = db.transaction(['docs', 'states'], 'readwrite')
    // A failed request fails the transaction: tx.done rejects with its error.
    tx.objectStore('docs')
      .put(record, [this.id, doc])
      .catch(() => {})
    if (state)
      tx.objectStore('states')
        .put(state, [this.id, doc])
        .catch(() => {})
    await tx.done
  }

  async remove(doc: DocId): Promise<void> {
    const db = this.#open()
    if (!db) return
    const tx = db.transaction(['docs', 'states'], 'readwrite')
    tx.objectStore('docs')
      .delete([this.id, doc])
      .catch(() => {})
    tx.objectStore('states')
      .delete([this.id, doc])
      .catch(() => {})
    await tx.done
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#db?.close()
    this.#claim.release()
  }

  #open(): LeafDatabase | undefined {
    if (this.#closed) throw new ClosedError('IdbLeafStorage')
    return this.#db
  }
}

function sessionStorageOrNull(): Storage | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage
  } catch {
    return null
  }
}

/** Whether this page is a reload of the previous one (its identity is being let go right now). */
function reloaded(): boolean {
  try {
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined
    return nav?.type === 'reload'
  } catch {
    return false
  }
}
