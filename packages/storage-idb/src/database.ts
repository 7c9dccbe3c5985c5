import { deleteDB, openDB, type DBSchema, type IDBPDatabase } from 'idb'
import type { LeafDocument, LeafState } from '@zinc/core'

/** Written in the `meta` store: a database without it (or with another) is not ours. */
export const FORMAT = 'zinc-leaf/1'
const VERSION = 1

/** One identity a tab can claim: an endpoint id and, under it, the documents it kept. */
export interface SlotRecord {
  id: string
  createdAt: number
  usedAt: number
}

export interface LeafSchema extends DBSchema {
  meta: { key: string; value: { key: string; value: string } }
  slots: { key: string; value: SlotRecord }
  /** The small record written after every change, keyed by [slot id, document id]. */
  docs: { key: [string, string]; value: LeafDocument }
  /** The state the record continues (written now and then, with a record), same keys. */
  states: { key: [string, string]; value: LeafState }
}

export type LeafDatabase = IDBPDatabase<LeafSchema>

/**
 * Opens the database `name`, creating it when new. One that is not ours (other stores, another
 * format, a newer version) or that cannot be opened is deleted and made anew; each such step
 * adds a line to `warnings`, for the page to show. Undefined when IndexedDB is unusable here
 * (private mode, disabled, blocked by another tab): the caller keeps nothing then.
 */
export async function openLeafDatabase(name: string, warnings: string[], timeoutMs = 5000): Promise<LeafDatabase | undefined> {
  if (typeof indexedDB === 'undefined') {
    warnings.push('This browser has no IndexedDB here, so changes made offline are not kept across a reload.')
    return undefined
  }
  try {
    const db = await withTimeout(open(name), timeoutMs, 'opening the local database')
    if (await isOurs(db)) return db
    db.close()
    warnings.push('The local database held something else (another program, or an older format); it was cleared and this tab starts fresh from the server.')
  } catch (error) {
    warnings.push(`The local database could not be opened (${(error as Error).message}); it was cleared and this tab starts fresh from the server.`)
  }
  try {
    await withTimeout(deleteDB(name), timeoutMs, 'clearing the local database (another tab may hold it open)')
    const db = await withTimeout(open(name), timeoutMs, 'opening the local database')
    if (await isOurs(db)) return db
    db.close()
    throw new Error('it was not usable after clearing it')
  } catch (error) {
    warnings.push(`Changes made offline are not kept across a reload in this tab: the local database is unusable (${(error as Error).message}).`)
    return undefined
  }
}

async function open(name: string): Promise<LeafDatabase> {
  const db = await openDB<LeafSchema>(name, VERSION, {
    upgrade(db, oldVersion) {
      if (oldVersion !== 0) return // an existing database at version 1 is checked by isOurs
      db.createObjectStore('meta', { keyPath: 'key' })
      db.createObjectStore('slots', { keyPath: 'id' })
      db.createObjectStore('docs')
      db.createObjectStore('states')
      // The format marker is written in the same upgrade transaction: a database has it or is not ours.
    },
  })
  // Another tab clearing or upgrading it: let it, this connection is done (saves fail and say so).
  db.addEventListener('versionchange', () => db.close())
  return db
}

/** Ours: exactly our stores, and our format marker (written now when the database is new and empty). */
async function isOurs(db: LeafDatabase): Promise<boolean> {
  const names = [...db.objectStoreNames].sort().join(',')
  if (names !== 'docs,meta,slots,states') return false
  const tx = db.transaction(['meta', 'slots', 'docs', 'states'], 'readwrite')
  const marker = await tx.objectStore('meta').get('format')
  if (marker === undefined) {
    const empty = (await tx.objectStore('slots').count()) === 0 && (await tx.objectStore('docs').count()) === 0
    if (!empty) return false
    await tx.objectStore('meta').put({ key: 'format', value: FORMAT })
  } else if (marker.value !== FORMAT) return false
  await tx.done
  return true
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)))
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
