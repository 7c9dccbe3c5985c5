import * as fs from 'node:fs'
import { join } from 'node:path'
import { StorageAccessError, StorageFullError } from '@zinc/core'
import { LmdbStorage } from '@zinc/storage-lmdb'
import { afterEach, describe, expect, it } from 'vitest'
import { DOC, frags, output, removeTempDirs, result, runNode, tempDir } from './helpers.js'

afterEach(removeTempDirs)

const isRoot = process.getuid?.() === 0

async function accessError(dir: string): Promise<StorageAccessError> {
  const error = await LmdbStorage.open(dir).then(
    (s) => s.close().then(() => undefined),
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(StorageAccessError)
  expect((error as StorageAccessError).code).toBe('ERR_STORAGE_ACCESS')
  expect((error as Error).message).toContain(dir)
  return error as StorageAccessError
}

describe('a directory that cannot be used', () => {
  // root ignores file modes, so a chmod 0500 directory stays writable for it; a path below a
  // regular file fails for everyone (ENOTDIR), so that case always runs.
  it('a path below a regular file is refused with a clear error naming it', async () => {
    const base = await tempDir()
    fs.writeFileSync(join(base, 'a-file'), 'x')
    const dir = join(base, 'a-file', 'store')
    const error = await accessError(dir)
    expect(error.message).toMatch(/is a file, not a directory \[ENOTDIR\]/)
  })

  it.skipIf(isRoot)('a read-only (chmod 0500) directory is refused with a clear error naming it', async () => {
    const dir = await tempDir()
    fs.chmodSync(dir, 0o500)
    try {
      const error = await accessError(dir)
      expect(error.message).toMatch(/permission denied/)
      await accessError(join(dir, 'inside'))
    } finally {
      fs.chmodSync(dir, 0o700)
    }
  })

  it.runIf(process.platform === 'linux')('a directory under /proc (not creatable, even for root) is refused', async () => {
    await accessError('/proc/zinc-cannot-store-here')
  })
})

describe('a full store', () => {
  it('maxBytes: the write that does not fit is refused whole; everything before it stays intact', async () => {
    const dir = await tempDir()
    const s = await LmdbStorage.open(dir, { maxBytes: 2 * 1024 * 1024 })
    let next = 1
    let error: unknown
    for (let i = 0; i < 1000 && error === undefined; i++) {
      try {
        await s.append(DOC, frags(next, next + 63, 1024))
        next += 64
      } catch (e) {
        error = e
      }
    }
    expect(error).toBeInstanceOf(StorageFullError)
    expect((error as StorageFullError).code).toBe('ERR_STORAGE_FULL')
    expect((error as Error).message).toContain(dir)
    expect((error as Error).message).toMatch(/maxBytes/)
    const acknowledged = next - 1
    expect(acknowledged).toBeGreaterThan(0)
    const loaded = await s.load(DOC)
    expect(loaded?.fragments.map((f) => f.seq)).toEqual(Array.from({ length: acknowledged }, (_, i) => i + 1))
    // small writes that still fit are accepted
    await s.append(DOC, frags(next, next, 16))
    await s.close()

    const reopened = await LmdbStorage.open(dir)
    expect((await reopened.load(DOC))?.fragments.length).toBe(acknowledged + 1)
    await reopened.append(DOC, frags(next + 1, next + 64, 1024))
    await reopened.close()
  })

  it.runIf(process.platform === 'linux')('a real write failure (the file-size limit, `ulimit -f`, in a child) rejects, stores nothing of the batch and corrupts nothing', async () => {
    const dir = await tempDir()
    const code = `
        import { LmdbStorage } from '@zinc/storage-lmdb'
        process.on('SIGXFSZ', () => {}) // so the write fails with an error instead of killing us
        const frags = (from, to, size) => Array.from({ length: to - from + 1 }, (_, i) => ({ seq: from + i, origin: 'o', clientSeq: from + i, envelope: new Uint8Array(size).fill((from + i) & 255) }))
        const s = await LmdbStorage.open(process.argv[1])
        await s.append('doc-1', frags(1, 10, 100))
        const out = {}
        try { await s.append('doc-1', frags(11, 4010, 1024)); out.big = 'stored' } catch (e) { out.big = { name: e.name, code: e.code, message: e.message } }
        try { await s.append('doc-1', frags(11, 11, 10)); out.after = 'stored' } catch (e) { out.after = { name: e.name, code: e.code } }
        await s.close()
        console.log('RESULT ' + JSON.stringify(out))
      `
    const child = await output(runNode(code, [dir], 'ulimit -f 2048;'))
    expect(child.code, child.stderr).toBe(0)
    const r = result(child.stdout) as { big: { name: string; code: string; message: string } | string; after: unknown }
    expect(typeof r.big).toBe('object')
    const big = r.big as { name: string; code: string; message: string }
    // LMDB reports a short write as EIO; with space on the device that is a write error, on a full disk StorageFullError
    expect(['ERR_STORAGE_FULL', 'ERR_STORAGE_WRITE']).toContain(big.code)
    expect(big.message).toContain(dir)
    // after a failed commit the store refuses further writes until reopened
    expect(r.after).toMatchObject({ code: big.code })

    const s = await LmdbStorage.open(dir)
    const loaded = await s.load(DOC)
    expect(loaded?.fragments.map((f) => f.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect([...(loaded?.fragments[9]?.envelope ?? [])]).toEqual(new Array(100).fill(10))
    await s.append(DOC, frags(11, 12))
    await s.close()
  })
})
