import * as fs from 'node:fs'
import { join, resolve } from 'node:path'
import {
  checkAppendBatch,
  ClosedError,
  InvalidArgumentError,
  StorageCorruptError,
  StorageFullError,
  ZincError,
  type DocId,
  type Storage,
  type StoredDocument,
  type StoredFragment,
  type StoredSnapshot,
  type TreeRecord,
} from '@zinc/core'
import { open as openLmdb, type RootDatabase } from 'lmdb'
import { StoreLock, accessError } from './lock.js'
import { checkDataFile } from './preflight.js'
import { CommitQueue } from './commit-queue.js'
import { MARKER_KEY, MAX_SEQ, TREE_KEY, dKey, fKey, sKey, type Key } from './keys.js'
import { mapOpenError, mapWriteError } from './lmdb-errors.js'
import { makeDirectory } from './make-directory.js'
import { DEFAULT_DURABILITY, DEFAULT_GROUP_COMMIT_MS, type Durability, type LmdbStorageOptions } from './storage-options.js'
import { RecordError, checkMarker, decodeDoc, decodeFragment, decodeSnapshot, encodeDoc, encodeFragment, encodeMarker, encodeSnapshot, decodeTree, encodeTree } from './records.js'

/** Name of LMDB's data file inside a store directory. */
export const DATA_FILE = 'data.mdb'

/**
 * A durable `Storage` on LMDB (the `lmdb` package). One directory is one store, written by one
 * process at a time (an exclusive `zinc.lock`; see `StorageLockedError`).
 *
 * Keys are lmdb's ordered-binary arrays, so a document's log is one range scan:
 * `['f', doc, seq]` → fragment record, `['s', doc]` → newest snapshot, `['d', doc]` → document
 * index (its snapshot seq), `['#zinc']` → format marker. Every value carries a CRC-32.
 *
 * Integrity: `open` refuses a truncated or foreign data file, a missing or unknown format marker,
 * and damaged index or snapshot records; `load` and `readLog` verify every fragment they return.
 * Any failed check is a `StorageCorruptError` naming the file. (LMDB itself is crash-safe: a
 * machine crash leaves the last synced commit, not a damaged file.)
 */
export class LmdbStorage implements Storage {
  /** The resolved store directory. */
  readonly path: string
  readonly durability: Durability
  readonly #db: RootDatabase<Uint8Array, Key>
  readonly #lock: StoreLock
  readonly #dataFile: string
  readonly #maxBytes: number | undefined
  #closed = false
  #closing: Promise<void> | undefined
  readonly #commits: CommitQueue

  private constructor(path: string, db: RootDatabase<Uint8Array, Key>, lock: StoreLock, durability: Durability, groupCommitMs: number, maxBytes: number | undefined) {
    this.path = path
    this.#db = db
    this.#lock = lock
    this.durability = durability
    this.#dataFile = join(path, DATA_FILE)
    this.#maxBytes = maxBytes
    const groupMs = durability === 'group' ? groupCommitMs : undefined
    this.#commits = new CommitQueue(db, groupMs, (error) => mapWriteError(path, this.#dataFile, error))
  }

  /**
   * Opens (creating if needed) the store in `dir`. Rejects with `StorageAccessError` (the
   * directory cannot be created or written), `StorageLockedError` (another process or open store
   * holds it), `StorageCorruptError` (the files fail verification) or `InvalidArgumentError`.
   */
  static async open(dir: string, options: LmdbStorageOptions = {}): Promise<LmdbStorage> {
    const durability = options.durability ?? DEFAULT_DURABILITY
    if (durability !== 'fsync' && durability !== 'group') {
      throw new InvalidArgumentError(`LmdbStorage durability must be 'fsync' or 'group', not ${JSON.stringify(durability)}.`)
    }
    const groupCommitMs = options.groupCommitMs ?? DEFAULT_GROUP_COMMIT_MS
    if (!Number.isFinite(groupCommitMs) || groupCommitMs < 0) {
      throw new InvalidArgumentError(`LmdbStorage groupCommitMs must be a number of milliseconds >= 0, not ${groupCommitMs}.`)
    }
    if (options.maxBytes !== undefined && !(options.maxBytes > 0)) {
      throw new InvalidArgumentError(`LmdbStorage maxBytes must be a positive number of bytes, not ${options.maxBytes}.`)
    }
    if (typeof dir !== 'string' || dir === '') throw new InvalidArgumentError('LmdbStorage.open needs a directory path.')
    const path = resolve(dir)
    try {
      makeDirectory(path)
      fs.accessSync(path, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK)
    } catch (error) {
      throw accessError(path, error)
    }
    const lock = StoreLock.acquire(path)
    let db: RootDatabase<Uint8Array, Key> | undefined
    try {
      const dataFile = join(path, DATA_FILE)
      const damage = checkDataFile(dataFile)
      if (damage) throw new StorageCorruptError(dataFile, damage)
      try {
        db = openLmdb<Uint8Array, Key>(path, {
          encoding: 'binary',
          // A commit resolves only once synced (no overlapping sync: see Durability).
          overlappingSync: false,
          noSync: false,
          // never hand out stale bytes of freed pages in a new record's padding
          noMemInit: false,
        })
      } catch (error) {
        throw mapOpenError(dataFile, error)
      }
      const storage = new LmdbStorage(path, db, lock, durability, groupCommitMs, options.maxBytes)
      await storage.#verifyAtOpen()
      return storage
    } catch (error) {
      if (db) await db.close().catch(() => {})
      lock.release()
      throw error
    }
  }

  async documents(): Promise<DocId[]> {
    this.#check()
    const docs: DocId[] = []
    for (const key of this.#db.getKeys({ start: ['d', ''], end: ['e'] })) docs.push(key[1] as DocId)
    return docs
  }

  async load(doc: DocId): Promise<StoredDocument | undefined> {
    this.#check()
    const index = this.#db.get(dKey(doc))
    if (index === undefined) return undefined
    const snapshotSeq = this.#verify(() => decodeDoc(index, `index of document "${doc}"`))
    let snapshot: StoredSnapshot | undefined
    // A snapshot at seq 0 is the root's seed of a new document (its `initial`): load it too.
    const bytes = this.#db.get(sKey(doc))
    if (bytes === undefined && snapshotSeq > 0) throw this.#corrupt(`the snapshot at seq ${snapshotSeq} of document "${doc}" is missing`)
    if (bytes !== undefined) {
      snapshot = this.#verify(() => decodeSnapshot(bytes, `snapshot of document "${doc}"`))
      if (snapshot.seq !== snapshotSeq) throw this.#corrupt(`the snapshot of document "${doc}" holds seq ${snapshot.seq}, its index says ${snapshotSeq}`)
    }
    return { snapshot, fragments: this.#range(doc, snapshotSeq) }
  }

  async append(doc: DocId, fragments: readonly StoredFragment[]): Promise<void> {
    this.#check()
    checkDocId(doc)
    if (fragments.length === 0) return
    checkAppendBatch(doc, fragments[0]!.seq, fragments)
    const records = fragments.map(encodeFragment)
    this.#checkQuota(records.reduce((n, r) => n + r.length + doc.length + 32, 0))
    const db = this.#db
    const first = fragments[0]!.seq
    // The check runs inside the write transaction, so it sees every earlier append, committed
    // or queued in the same commit; it throws before any put, so a refused batch writes nothing.
    return this.#commits.write(() => {
      const indexBytes = db.get(dKey(doc))
      const snapshotSeq = indexBytes === undefined ? 0 : this.#verify(() => decodeDoc(indexBytes, `index of document "${doc}"`))
      const expected = Math.max(this.#lastSeq(doc), snapshotSeq) + 1
      if (first !== expected) checkAppendBatch(doc, expected, fragments)
      for (let i = 0; i < records.length; i++) db.put(fKey(doc, first + i), records[i]!)
      if (indexBytes === undefined) db.put(dKey(doc), encodeDoc(0))
    })
  }

  async writeSnapshot(doc: DocId, snapshot: StoredSnapshot): Promise<void> {
    const record = this.#snapshotRecord('writeSnapshot', doc, snapshot)
    const db = this.#db
    return this.#commits.write(() => {
      const indexBytes = db.get(dKey(doc))
      const current = indexBytes === undefined ? -1 : this.#verify(() => decodeDoc(indexBytes, `index of document "${doc}"`))
      if (indexBytes !== undefined && current > 0 && snapshot.seq < current) return
      db.put(sKey(doc), record)
      db.put(dKey(doc), encodeDoc(snapshot.seq))
    })
  }

  async replace(doc: DocId, snapshot: StoredSnapshot): Promise<void> {
    const record = this.#snapshotRecord('replace', doc, snapshot)
    const db = this.#db
    // One transaction: the old log goes with the old snapshot, or nothing changes.
    return this.#commits.write(() => {
      for (const key of [...db.getKeys({ start: fKey(doc, 0), end: fKey(doc, Number.MAX_SAFE_INTEGER), inclusiveEnd: true })]) db.remove(key)
      db.put(sKey(doc), record)
      db.put(dKey(doc), encodeDoc(snapshot.seq))
    })
  }

  /** A snapshot checked and encoded for `call`, its size within the quota. */
  #snapshotRecord(call: string, doc: DocId, snapshot: StoredSnapshot): Uint8Array {
    this.#check()
    checkDocId(doc)
    if (!Number.isSafeInteger(snapshot.seq) || snapshot.seq < 0) {
      throw new InvalidArgumentError(`${call} of "${doc}": seq ${snapshot.seq} must be a non-negative integer.`)
    }
    const record = encodeSnapshot(snapshot)
    this.#checkQuota(record.length + doc.length + 64)
    return record
  }

  async readLog(doc: DocId, afterSeq: number): Promise<StoredFragment[]> {
    this.#check()
    return this.#range(doc, afterSeq)
  }

  async compact(doc: DocId, uptoSeq: number): Promise<void> {
    this.#check()
    const db = this.#db
    return this.#commits.write(() => {
      const indexBytes = db.get(dKey(doc))
      if (indexBytes === undefined) return
      const snapshotSeq = this.#verify(() => decodeDoc(indexBytes, `index of document "${doc}"`))
      const limit = Math.min(uptoSeq, snapshotSeq)
      if (!(limit >= 1)) return
      const keys = [...db.getKeys({ start: fKey(doc, 0), end: fKey(doc, limit), inclusiveEnd: true })]
      for (const key of keys) db.remove(key)
    })
  }

  async loadTree(): Promise<TreeRecord | undefined> {
    this.#check()
    const bytes = this.#db.get(TREE_KEY)
    return bytes === undefined ? undefined : this.#verify(() => decodeTree(bytes, 'tree record'))
  }

  async saveTree(record: TreeRecord): Promise<void> {
    this.#check()
    const bytes = encodeTree(record)
    this.#checkQuota(bytes.length + 64)
    const db = this.#db
    return this.#commits.write(() => void db.put(TREE_KEY, bytes))
  }

  /**
   * Waits for every write issued before it, closes LMDB and releases the lock. Idempotent; every
   * other call after it rejects with `ClosedError`.
   */
  async close(): Promise<void> {
    if (this.#closing) return this.#closing
    this.#closed = true
    this.#closing = (async () => {
      try {
        this.#commits.flush() // group commit: do not wait out the timer
        await this.#commits.settled()
        await this.#db.close()
      } finally {
        this.#lock.release()
      }
    })()
    return this.#closing
  }

  // ---------------------------------------------------------------------------------------

  #check(): void {
    if (this.#closed) throw new ClosedError(`The LmdbStorage at ${this.path}`)
  }

  /** Fragments of `doc` with seq > `afterSeq`, verified, in order. */
  #range(doc: string, afterSeq: number): StoredFragment[] {
    const out: StoredFragment[] = []
    const start = Math.max(0, Math.floor(afterSeq)) + 1
    let expected = -1
    for (const { key, value } of this.#db.getRange({ start: fKey(doc, start), end: fKey(doc, MAX_SEQ), inclusiveEnd: true })) {
      const seq = key[2] as number
      const fragment = this.#verify(() => decodeFragment(value, seq, `fragment ${seq} of document "${doc}"`))
      if (expected !== -1 && seq !== expected) throw this.#corrupt(`the log of document "${doc}" jumps from seq ${expected - 1} to ${seq}`)
      expected = seq + 1
      out.push(fragment)
    }
    return out
  }

  /** Highest stored fragment seq of `doc`, 0 if none (reads the write transaction when inside one). */
  #lastSeq(doc: string): number {
    for (const key of this.#db.getKeys({ start: fKey(doc, MAX_SEQ), end: fKey(doc, 0), reverse: true, limit: 1 })) return key[2] as number
    return 0
  }

  #verify<T>(decode: () => T): T {
    try {
      return decode()
    } catch (error) {
      if (error instanceof RecordError || error instanceof TypeError) throw this.#corrupt(error.message)
      throw error
    }
  }

  #corrupt(detail: string): StorageCorruptError {
    return new StorageCorruptError(this.#dataFile, detail)
  }

  #checkQuota(estimate: number): void {
    if (this.#maxBytes === undefined) return
    const stats = this.#db.getStats() as { lastPageNumber: number; pageSize: number }
    const used = (stats.lastPageNumber + 1) * stats.pageSize
    // ×2 + 4 pages: B-tree splits and the copy-on-write of the path to the root
    const needed = used + estimate * 2 + 4 * stats.pageSize
    if (needed > this.#maxBytes) {
      throw new StorageFullError(this.path, `the write needs about ${needed} bytes and maxBytes is ${this.#maxBytes}`)
    }
  }

  async #verifyAtOpen(): Promise<void> {
    const db = this.#db
    const marker = db.get(MARKER_KEY)
    if (marker === undefined) {
      let empty = true
      for (const _ of db.getKeys({ limit: 1 })) empty = false
      if (!empty) throw this.#corrupt('it holds data but no Zinc format marker: it is not a Zinc store, or its marker was lost')
      await this.#commits.write(() => void db.put(MARKER_KEY, encodeMarker()))
      return
    }
    const problem = checkMarker(marker)
    if (problem) throw this.#corrupt(problem)
    try {
      for (const { key, value } of db.getRange({ start: ['d', ''], end: ['e'] })) {
        const doc = key[1] as string
        const snapshotSeq = this.#verify(() => decodeDoc(value, `index of document "${doc}"`))
        if (snapshotSeq > 0) {
          const bytes = db.get(sKey(doc))
          if (bytes === undefined) throw this.#corrupt(`the snapshot at seq ${snapshotSeq} of document "${doc}" is missing`)
          this.#verify(() => decodeSnapshot(bytes, `snapshot of document "${doc}"`))
        }
      }
    } catch (error) {
      throw error instanceof ZincError ? error : mapOpenError(this.#dataFile, error)
    }
  }
}

function checkDocId(doc: DocId): void {
  if (typeof doc !== 'string' || doc.length === 0 || Buffer.byteLength(doc) > 1024) {
    throw new InvalidArgumentError(`A document id must be a non-empty string of at most 1024 UTF-8 bytes, not ${JSON.stringify(doc)}.`)
  }
}
