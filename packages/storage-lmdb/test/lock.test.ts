import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { StorageLockedError } from '@zinc/core'
import { LOCK_FILE, LmdbStorage } from '@zinc/storage-lmdb'
import { afterEach, describe, expect, it } from 'vitest'
import { DOC, exited, frags, output, removeTempDirs, result, runNode, tempDir, waitForLine } from './helpers.js'

afterEach(removeTempDirs)

/** A child that opens the store, appends seqs 1..3, prints READY and holds it until stdin closes. */
const HOLDER = `
import { LmdbStorage } from '@zinc/storage-lmdb'
const s = await LmdbStorage.open(process.argv[1])
await s.append('doc-1', [1, 2, 3].map((seq) => ({ seq, origin: 'o', clientSeq: seq, envelope: new Uint8Array([seq]) })))
console.log('READY ' + process.pid)
process.stdin.resume()
process.stdin.on('end', async () => { await s.close(); process.exit(0) })
`

/** A child that tries to open the store and prints the outcome. */
const OPENER = `
import { LmdbStorage } from '@zinc/storage-lmdb'
try {
  const s = await LmdbStorage.open(process.argv[1])
  await s.close()
  console.log('RESULT ' + JSON.stringify({ opened: true }))
} catch (e) {
  console.log('RESULT ' + JSON.stringify({ name: e.name, code: e.code, message: e.message, pid: e.pid }))
}
`

describe('one writer per store', () => {
  it('a second process opening a held store gets StorageLockedError naming the directory and our pid', async () => {
    const dir = await tempDir()
    const s = await LmdbStorage.open(dir)
    try {
      const { code, stdout } = await output(runNode(OPENER, [dir]))
      expect(code).toBe(0)
      const r = result(stdout)
      expect(r.name).toBe('StorageLockedError')
      expect(r.code).toBe('ERR_STORAGE_LOCKED')
      expect(r.pid).toBe(process.pid)
      expect(r.message).toContain(dir)
      expect(r.message).toContain(`process ${process.pid}`)
    } finally {
      await s.close()
    }
    // once closed, the lock is gone and another process can open it
    const { stdout } = await output(runNode(OPENER, [dir]))
    expect(result(stdout)).toEqual({ opened: true })
  })

  it('a store held by a live child is refused here; once the child is SIGKILLed its stale lock is taken over', async () => {
    const dir = await tempDir()
    const child = runNode(HOLDER, [dir])
    try {
      const line = await waitForLine(child, /^READY \d+/)
      const childPid = Number(line.split(' ')[1])
      const error = await LmdbStorage.open(dir).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(StorageLockedError)
      expect((error as StorageLockedError).pid).toBe(childPid)
      expect((error as Error).message).toContain(dir)
      expect((error as Error).message).toContain(`process ${childPid}`)
    } finally {
      child.kill('SIGKILL')
      await exited(child)
    }
    expect(fs.existsSync(join(dir, LOCK_FILE)), 'the killed child left its lock behind').toBe(true)
    const s = await LmdbStorage.open(dir)
    expect((await s.load(DOC))?.fragments.map((f) => f.seq)).toEqual([1, 2, 3])
    await s.close()
  })

  it('a lock left by a pid that no longer exists is stale', async () => {
    const dir = await tempDir()
    const dead = spawnSync(process.execPath, ['-e', '']).pid
    fs.writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: dead, host: hostname() }))
    const s = await LmdbStorage.open(dir)
    expect(JSON.parse(fs.readFileSync(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid)
    await s.close()
    expect(fs.existsSync(join(dir, LOCK_FILE))).toBe(false)
  })

  it('a lock from another host, or one that cannot be read, is never presumed stale', async () => {
    const dir = await tempDir()
    fs.writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: 1, host: 'some-other-host.example' }))
    await expect(LmdbStorage.open(dir)).rejects.toThrow(/on host some-other-host\.example/)
    fs.writeFileSync(join(dir, LOCK_FILE), 'garbage')
    await expect(LmdbStorage.open(dir)).rejects.toThrow(StorageLockedError)
    await expect(LmdbStorage.open(dir)).rejects.toThrow(/delete .*zinc\.lock/)
  })

  it('the same directory cannot be opened twice in one process; close() releases it', async () => {
    const dir = await tempDir()
    const s = await LmdbStorage.open(dir)
    await s.append(DOC, frags(1, 2))
    await expect(LmdbStorage.open(dir)).rejects.toThrow(/already open in this process/)
    await s.close()
    await s.close()
    const again = await LmdbStorage.open(dir)
    expect((await again.load(DOC))?.fragments.length).toBe(2)
    await again.close()
  })
})
