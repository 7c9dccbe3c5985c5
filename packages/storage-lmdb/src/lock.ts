/**
 * One writer per store. LMDB itself lets many processes open one environment (that is its
 * design), which would let two roots append to the same logs. So a store holds an exclusive
 * lock file, `<dir>/zinc.lock`, with the holder's pid and host:
 *
 * - it is created atomically complete (written to a temp file, then hard-linked into place,
 *   which fails if it exists), so a reader never sees a half-written lock;
 * - a lock whose pid no longer runs on this host (`process.kill(pid, 0)` → ESRCH) is stale and
 *   taken over; a lock of this very pid that no open store of this process holds is stale too
 *   (a crashed process's pid reused, common in containers where the root is pid 1);
 * - a lock from another host is never presumed stale (its pid cannot be checked from here).
 */
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { StorageAccessError, StorageLockedError } from '@zinc/core'

/** The file in a store's directory that names the process writing to it. */
export const LOCK_FILE = 'zinc.lock'

/** Directories this process holds a lock on (resolved paths). */
const held = new Set<string>()

interface LockInfo {
  pid?: number
  host?: string
}

export class StoreLock {
  #released = false
  private constructor(
    readonly dir: string,
    readonly file: string,
  ) {}

  static acquire(dir: string): StoreLock {
    const file = join(dir, LOCK_FILE)
    if (held.has(dir)) throw new StorageLockedError(dir, process.pid, 'already open in this process')
    const info = JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() })
    const temp = join(dir, `${LOCK_FILE}.${process.pid}.${randomBytes(4).toString('hex')}`)
    try {
      fs.writeFileSync(temp, info, { mode: 0o644 })
    } catch (error) {
      throw accessError(dir, error)
    }
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          fs.linkSync(temp, file)
          held.add(dir)
          return new StoreLock(dir, file)
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw accessError(dir, error)
        }
        const holder = readLock(file)
        if (holder === 'gone') continue
        if (attempt >= 3 || !isStale(holder)) throw new StorageLockedError(dir, holder.pid, holder.host && holder.host !== hostname() ? `on host ${holder.host}` : '')
        try {
          fs.unlinkSync(file)
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw accessError(dir, error)
        }
      }
    } finally {
      try {
        fs.unlinkSync(temp)
      } catch {
        // already gone
      }
    }
  }

  /** Removes the lock file if it is still ours. Idempotent. */
  release(): void {
    if (this.#released) return
    this.#released = true
    held.delete(this.dir)
    const holder = readLock(this.file)
    if (holder !== 'gone' && holder.pid === process.pid) {
      try {
        fs.unlinkSync(this.file)
      } catch {
        // removed meanwhile
      }
    }
  }
}

function readLock(file: string): LockInfo | 'gone' {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone'
    throw error
  }
  try {
    const parsed = JSON.parse(text) as LockInfo
    return { pid: typeof parsed.pid === 'number' ? parsed.pid : undefined, host: typeof parsed.host === 'string' ? parsed.host : undefined }
  } catch {
    // a lock file written by hand or damaged: treat it as held, the message says how to remove it
    return {}
  }
}

function isStale(holder: LockInfo): boolean {
  if (holder.pid === undefined || !Number.isInteger(holder.pid) || holder.pid <= 0) return false
  if (holder.host !== undefined && holder.host !== hostname()) return false
  if (holder.pid === process.pid) return true // not in `held` (checked first): a previous life of this pid
  try {
    process.kill(holder.pid, 0)
    return false
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH'
  }
}

export function accessError(dir: string, error: unknown): StorageAccessError {
  const e = error as NodeJS.ErrnoException
  const reasons: Record<string, string> = {
    EACCES: 'permission denied (the directory is not writable by this user)',
    EPERM: 'operation not permitted',
    EROFS: 'the file system is read-only',
    ENOTDIR: 'a part of the path is a file, not a directory',
    ENOENT: 'a part of the path does not exist',
    ENOSPC: 'the disk is full',
    EEXIST: 'a file is in the way',
  }
  const reason = (e.code && reasons[e.code]) ?? e.message
  return new StorageAccessError(dir, `${reason}${e.code ? ` [${e.code}]` : ''}`, { cause: error })
}
