/**
 * When `append` (and `writeSnapshot`, `compact`) resolve. Either way, only after the LMDB
 * transaction holding the write has committed **and its `fdatasync` returned** (lmdb opened with
 * `overlappingSync: false`, `noSync: false`, so the commit promise is the synced commit), and a
 * rejected write stored nothing (one LMDB transaction is atomic).
 *
 * - `'fsync'` (default): the commit starts on the next event-loop turn. Writes issued in the
 *   same turn, or while the previous commit is syncing, share one commit and one sync (lmdb-js
 *   batches by event turn on its write thread), so concurrent appends already group; a lone
 *   append waits for exactly one sync.
 * - `'group'`: writes are held up to `groupCommitMs` and then all started in one turn, so they
 *   share one commit and one sync: every append waits about `groupCommitMs` more, in exchange for
 *   fewer syncs on disks where a sync is slow.
 */
export type Durability = 'fsync' | 'group'

/** Options of `LmdbStorage.open`. */
export interface LmdbStorageOptions {
  /** Default `'fsync'` (see `Durability`; measured in the package README). */
  durability?: Durability
  /** `'group'` only: how long a commit waits to gather writes. Default 5 ms. */
  groupCommitMs?: number
  /**
   * Largest size in bytes the data file may reach; a write that could pass it rejects with
   * `StorageFullError` and stores nothing. Default: no limit (the disk's own size).
   */
  maxBytes?: number
}

/** The default durability policy. */
export const DEFAULT_DURABILITY: Durability = 'fsync'
/** The default `groupCommitMs` of the `group` policy. */
export const DEFAULT_GROUP_COMMIT_MS = 5
