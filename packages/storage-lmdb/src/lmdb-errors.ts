import * as fs from 'node:fs'
import { resolve } from 'node:path'
import { StorageCorruptError, StorageFullError, StorageWriteError, ZincError } from '@zinc/core'
import { accessError } from './lock.js'

// What LMDB's failures mean to a caller: a store that cannot be trusted (StorageCorruptError),
// out of space (StorageFullError, reopen once there is room), or another write error.

/** LMDB error codes (mdb.h) and errnos that mean the store cannot be trusted or is out of space. */
const MDB_CORRUPT = new Map<number, string>([
  [-30793, 'MDB_INVALID: not an LMDB file'],
  [-30794, 'MDB_VERSION_MISMATCH: LMDB version mismatch'],
  [-30795, 'MDB_PANIC: fatal LMDB error'],
  [-30796, 'MDB_CORRUPTED: located page was the wrong type'],
  [-30797, 'MDB_PAGE_NOTFOUND: requested page not found'],
])
const FULL_CODES = new Map<number | string, string>([
  [-30792, 'MDB_MAP_FULL: the map size limit was reached'],
  [28, 'ENOSPC: no space left on the device'],
  ['ENOSPC', 'ENOSPC: no space left on the device'],
  [27, 'EFBIG: the file-size limit was reached'],
  ['EFBIG', 'EFBIG: the file-size limit was reached'],
  [122, 'EDQUOT: the disk quota was exceeded'],
  ['EDQUOT', 'EDQUOT: the disk quota was exceeded'],
])

/** A failure to open LMDB on `dataFile` as a Zinc error: damage, access, or a file LMDB cannot read. */
export function mapOpenError(dataFile: string, error: unknown): ZincError {
  if (error instanceof ZincError) return error
  const code = (error as { code?: number | string } | undefined)?.code
  const message = error instanceof Error ? error.message : String(error)
  const corrupt = typeof code === 'number' ? MDB_CORRUPT.get(code) : undefined
  if (corrupt || /MDB_(INVALID|CORRUPTED|PAGE_NOTFOUND|PANIC|VERSION_MISMATCH)/.test(message)) {
    return new StorageCorruptError(dataFile, corrupt ?? message)
  }
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return accessError(resolve(dataFile, '..'), error)
  return new StorageCorruptError(dataFile, `LMDB could not open it: ${message}`)
}

/** A failed commit of the store at `path` (data file `dataFile`) as a Zinc error. */
export async function mapWriteError(path: string, dataFile: string, error: unknown): Promise<ZincError> {
  let cause = error
  const commitError = (error as { commitError?: Promise<unknown> } | undefined)?.commitError
  if (commitError) {
    try {
      await commitError
    } catch (real) {
      cause = real
    }
  }
  const code = (cause as { code?: number | string } | undefined)?.code
  const message = cause instanceof Error ? cause.message : String(cause)
  const full = code !== undefined ? FULL_CODES.get(code) : undefined
  if (full) return new StorageFullError(path, `${full}; close and reopen the store once there is room`)
  if (/MDB_MAP_FULL|No space left/i.test(message)) return new StorageFullError(path, `${message}; close and reopen the store once there is room`)
  const corrupt = typeof code === 'number' ? MDB_CORRUPT.get(code) : undefined
  if (corrupt) return new StorageCorruptError(dataFile, corrupt)
  if (code === 5 || code === 'EIO') {
    // LMDB reports a short write as EIO: on a full disk or past a file-size limit.
    if (freeBytes(path) < 64 * 1024 * 1024) return new StorageFullError(path, `an I/O error with under 64 MiB free on the device; close and reopen the store once there is room`)
    return new StorageWriteError(path, `I/O error from the commit (${message}); a short write means the disk is full or a file-size limit was reached`, { cause })
  }
  return new StorageWriteError(path, message, { cause })
}

function freeBytes(path: string): number {
  try {
    const s = fs.statfsSync(path)
    return s.bavail * s.bsize
  } catch {
    return Number.POSITIVE_INFINITY
  }
}
