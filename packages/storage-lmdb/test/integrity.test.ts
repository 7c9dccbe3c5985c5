import * as fs from 'node:fs'
import { join } from 'node:path'
import { StorageCorruptError, type StoredSnapshot } from '@zinc/core'
import { DATA_FILE, LmdbStorage } from '@zinc/storage-lmdb'
import { open as openLmdb } from 'lmdb'
import { afterEach, describe, expect, it } from 'vitest'
import { DOC, ORIGIN, frag, frags, removeTempDirs, tempDir } from './helpers.js'

afterEach(removeTempDirs)

const MARK = new TextEncoder().encode('ZINC-INTEGRITY-TEST-PAYLOAD-'.repeat(8))

/** Rejects with StorageCorruptError naming the data file; returns the error. */
async function expectCorrupt(promise: Promise<unknown>, dir: string, detail: RegExp): Promise<StorageCorruptError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(StorageCorruptError)
  const e = error as StorageCorruptError
  expect(e.code).toBe('ERR_STORAGE_CORRUPT')
  expect(e.message).toContain(join(dir, DATA_FILE))
  expect(e.message).toMatch(/Restore it from a backup or move it aside/)
  expect(e.message).toMatch(detail)
  return e
}

/** Overwrites one byte in the middle of the first occurrence of `needle` in data.mdb. */
function flipByteOf(dir: string, needle: Uint8Array): void {
  const file = join(dir, DATA_FILE)
  const data = fs.readFileSync(file)
  const at = data.indexOf(Buffer.from(needle))
  expect(at, 'payload found in data.mdb').toBeGreaterThan(0)
  const fd = fs.openSync(file, 'r+')
  try {
    const pos = at + (needle.length >> 1)
    fs.writeSync(fd, Buffer.from([data[pos]! ^ 0xff]), 0, 1, pos)
  } finally {
    fs.closeSync(fd)
  }
}

describe('a damaged store is detected', () => {
  it('a flipped byte inside a stored fragment fails load and readLog with a checksum error', async () => {
    const dir = await tempDir()
    const s = await LmdbStorage.open(dir)
    await s.append(DOC, [frag(1), frag(2, MARK), frag(3)])
    await s.close()
    flipByteOf(dir, MARK)

    const reopened = await LmdbStorage.open(dir)
    try {
      await expectCorrupt(reopened.load(DOC), dir, /fragment 2 of document "doc-1": checksum mismatch/)
      await expectCorrupt(reopened.readLog(DOC, 1), dir, /checksum mismatch/)
      // what is before the damage can still be read on its own
      expect((await reopened.readLog(DOC, 2)).map((f) => f.seq)).toEqual([3])
    } finally {
      await reopened.close()
    }
  })

  it('a flipped byte inside a snapshot fails open', async () => {
    const dir = await tempDir()
    const s = await LmdbStorage.open(dir)
    const snapshot: StoredSnapshot = { seq: 1, state: MARK, clientSeqs: [[ORIGIN, 1]] }
    await s.append(DOC, [frag(1)])
    await s.writeSnapshot(DOC, snapshot)
    await s.close()
    flipByteOf(dir, MARK)
    await expectCorrupt(LmdbStorage.open(dir), dir, /snapshot of document "doc-1": checksum mismatch/)
    // the failed open released its lock: opening again reports the damage again, not a lock
    await expectCorrupt(LmdbStorage.open(dir), dir, /checksum mismatch/)
  })

  it('a data file truncated below its used pages fails open (before LMDB maps it)', async () => {
    const dir = await tempDir()
    const s = await LmdbStorage.open(dir)
    for (let i = 0; i < 10; i++) await s.append(DOC, frags(i * 50 + 1, i * 50 + 50, 1024))
    await s.close()
    fs.truncateSync(join(dir, DATA_FILE), 3 * 4096)
    await expectCorrupt(LmdbStorage.open(dir), dir, /truncated/)
  })

  it('a data file truncated inside its meta pages fails open', async () => {
    const dir = await tempDir()
    const s = await LmdbStorage.open(dir)
    await s.append(DOC, frags(1, 3))
    await s.close()
    fs.truncateSync(join(dir, DATA_FILE), 100)
    await expectCorrupt(LmdbStorage.open(dir), dir, /truncated/)
  })

  it('overwritten meta pages (no LMDB magic) fail open', async () => {
    const dir = await tempDir()
    const s = await LmdbStorage.open(dir)
    await s.append(DOC, frags(1, 3))
    await s.close()
    const fd = fs.openSync(join(dir, DATA_FILE), 'r+')
    fs.writeSync(fd, Buffer.alloc(64, 0x55), 0, 64, 0)
    fs.closeSync(fd)
    await expectCorrupt(LmdbStorage.open(dir), dir, /no LMDB magic/)
  })

  it('an LMDB store that is not a Zinc store fails open', async () => {
    const dir = await tempDir()
    const db = openLmdb(dir, {})
    await db.put('someone-else', { hello: 'world' })
    await db.close()
    await expectCorrupt(LmdbStorage.open(dir), dir, /no Zinc format marker/)
  })

  it('a store of an unknown format version fails open', async () => {
    const dir = await tempDir()
    const s = await LmdbStorage.open(dir)
    await s.close()
    const db = openLmdb<Uint8Array, string[]>(dir, { encoding: 'binary' })
    const marker = Buffer.from(db.get(['#zinc'])!)
    marker[1] = 99
    await db.put(['#zinc'], marker)
    await db.close()
    await expectCorrupt(LmdbStorage.open(dir), dir, /format version 99/)
  })

  it('a healthy store reopens many times with nothing lost', async () => {
    const dir = await tempDir()
    for (let round = 0; round < 5; round++) {
      const s = await LmdbStorage.open(dir)
      await s.append(DOC, frags(round * 100 + 1, round * 100 + 100, 512))
      await s.close()
    }
    const s = await LmdbStorage.open(dir)
    expect((await s.load(DOC))?.fragments.length).toBe(500)
    await s.close()
  })
})
