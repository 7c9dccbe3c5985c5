import { describe, expect, it } from 'vitest'
import type { DocId } from '../ids.js'
import type { Storage } from '../storage.js'
import type { StorageHarness } from './storage-harness.js'
import { fragment, fragments, plain, plainSnapshot, seqs, snapshot } from './storage-setup.js'

const A = 'life-a' as DocId
const B = 'life-b' as DocId

/** Durability across reopen, and close(). */
export function storageLifecycleTests(h: StorageHarness): void {
  describe('reopen and close', () => {
    it('reopen returns everything durable: documents, snapshots, logs, compaction', async (ctx) => {
      if (!h.canReopen) ctx.skip()
      await h.storage.append(A, fragments(1, 30))
      await h.storage.writeSnapshot(A, snapshot(20))
      await h.storage.compact(A, 20)
      await h.storage.append(B, fragments(1, 5))
      const before = { a: await h.storage.load(A), b: await h.storage.load(B), logA: await h.storage.readLog(A, 0) }
      const storage = await h.reopen()
      expect([...(await storage.documents())].sort()).toEqual([A, B])
      const a = await storage.load(A)
      expect(plainSnapshot(a?.snapshot)).toEqual(plainSnapshot(before.a?.snapshot))
      expect(plain(a?.fragments ?? [])).toEqual(plain(before.a?.fragments ?? []))
      expect(plain((await storage.load(B))?.fragments ?? [])).toEqual(plain(before.b?.fragments ?? []))
      expect(seqs(await storage.readLog(A, 0))).toEqual(seqs(before.logA))
      // the reopened log continues where it stopped, gapless
      await expect(storage.append(A, [fragment(30)])).rejects.toThrow(/expected seq 31/)
      await storage.append(A, [fragment(31)])
    })

    it('appends issued before close() resolve, and survive a reopen', async (ctx) => {
      const pending = [h.storage.append(A, fragments(1, 10)), h.storage.append(A, fragments(11, 12))]
      const closing = h.storage.close()
      await Promise.all(pending)
      await closing
      if (!h.canReopen) ctx.skip()
      const storage = await h.reopen()
      expect(seqs((await storage.load(A))?.fragments ?? [])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    })

    it('close() is idempotent', async () => {
      await h.storage.append(A, fragments(1, 2))
      await h.storage.close()
      await h.storage.close()
      await Promise.all([h.storage.close(), h.storage.close()])
    })

    it('every call after close() fails with a clear error', async () => {
      const storage: Storage = h.storage
      await storage.close()
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['documents', () => storage.documents()],
        ['load', () => storage.load(A)],
        ['append', () => storage.append(A, fragments(1, 1))],
        ['writeSnapshot', () => storage.writeSnapshot(A, snapshot(1))],
        ['readLog', () => storage.readLog(A, 0)],
        ['compact', () => storage.compact(A, 1)],
      ]
      for (const [name, call] of calls) {
        let error: unknown
        try {
          await call()
        } catch (e) {
          error = e
        }
        expect(error, `${name} after close`).toBeInstanceOf(Error)
        expect((error as Error).message, `${name} after close`).toMatch(/closed/i)
        expect((error as { code?: string }).code, `${name} after close`).toBe('ERR_CLOSED')
      }
    })
  })
}
