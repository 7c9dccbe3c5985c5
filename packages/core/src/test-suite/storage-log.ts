import { describe, expect, it } from 'vitest'
import type { DocId } from '../ids.js'
import type { StorageHarness } from './storage-harness.js'
import { fragment, fragments, plainSnapshot, seqs, snapshot } from './storage-setup.js'

const A = 'log-a' as DocId

/** The gapless log: append validation, snapshots, readLog and compact. */
export function storageLogTests(h: StorageHarness): void {
  describe('append is gapless', () => {
    it('the first fragment of a new document must be seq 1', async () => {
      await expect(h.storage.append(A, fragments(2, 3))).rejects.toThrow(/seq 1\b.*got 2|expected seq 1/)
      expect(await h.storage.load(A)).toBeUndefined()
      expect(await h.storage.documents()).toEqual([])
    })

    it('a gap between batches rejects with a clear error and stores nothing of the batch', async () => {
      await h.storage.append(A, fragments(1, 3))
      await expect(h.storage.append(A, fragments(5, 8))).rejects.toThrow(/expected seq 4/)
      expect(seqs(await h.storage.readLog(A, 0))).toEqual([1, 2, 3])
      await h.storage.append(A, fragments(4, 5))
      expect(seqs(await h.storage.readLog(A, 0))).toEqual([1, 2, 3, 4, 5])
    })

    it('a gap inside a batch rejects and stores none of it, not even its valid prefix', async () => {
      await h.storage.append(A, fragments(1, 2))
      await expect(h.storage.append(A, [fragment(3), fragment(4), fragment(6)])).rejects.toThrow(/gapless|expected seq 5/)
      expect(seqs(await h.storage.readLog(A, 0))).toEqual([1, 2])
    })

    it('a repeated seq rejects, across batches and inside one', async () => {
      await h.storage.append(A, fragments(1, 3))
      await expect(h.storage.append(A, fragments(3, 4))).rejects.toThrow(/expected seq 4/)
      await expect(h.storage.append(A, [fragment(4), fragment(4)])).rejects.toThrow(/gapless|expected seq 5/)
      expect(seqs(await h.storage.readLog(A, 0))).toEqual([1, 2, 3])
    })

    it('the log continues after a snapshot of a document with no log', async () => {
      await h.storage.writeSnapshot(A, snapshot(40))
      await expect(h.storage.append(A, [fragment(1)])).rejects.toThrow(/expected seq 41/)
      await h.storage.append(A, fragments(41, 42))
      const loaded = await h.storage.load(A)
      expect(loaded?.snapshot?.seq).toBe(40)
      expect(seqs(loaded?.fragments ?? [])).toEqual([41, 42])
    })

    it('appends issued without awaiting the previous one are applied in call order', async () => {
      await Promise.all([h.storage.append(A, fragments(1, 3)), h.storage.append(A, fragments(4, 6)), h.storage.append(A, [fragment(7)])])
      expect(seqs(await h.storage.readLog(A, 0))).toEqual([1, 2, 3, 4, 5, 6, 7])
    })
  })

  describe('snapshots, readLog and compact', () => {
    it('a snapshot keeps its history fingerprint, and one written without it loads without it', async () => {
      await h.storage.writeSnapshot(A, { ...snapshot(12), history: 0x1234_5678_9abc })
      expect((await h.storage.load(A))?.snapshot?.history).toBe(0x1234_5678_9abc)
      await h.storage.writeSnapshot(A, snapshot(13))
      const loaded = await h.storage.load(A)
      expect(loaded?.snapshot?.seq).toBe(13)
      expect(loaded?.snapshot?.history).toBeUndefined()
    })

    it('writeSnapshot keeps the newest: an older one does not replace it', async () => {
      await h.storage.append(A, fragments(1, 10))
      await h.storage.writeSnapshot(A, snapshot(8, { v: 'eight' }))
      await h.storage.writeSnapshot(A, snapshot(5, { v: 'five' }))
      const loaded = await h.storage.load(A)
      expect(plainSnapshot(loaded?.snapshot)).toEqual(plainSnapshot(snapshot(8, { v: 'eight' })))
      expect(seqs(loaded?.fragments ?? [])).toEqual([9, 10])
    })

    it('readLog returns the fragments after a seq, in order', async () => {
      await h.storage.append(A, fragments(1, 10))
      expect(seqs(await h.storage.readLog(A, 0))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      expect(seqs(await h.storage.readLog(A, 7))).toEqual([8, 9, 10])
      expect(await h.storage.readLog(A, 10)).toEqual([])
      expect(await h.storage.readLog(A, 99)).toEqual([])
    })

    it('readLog is not limited by a snapshot: it returns every kept fragment', async () => {
      await h.storage.append(A, fragments(1, 6))
      await h.storage.writeSnapshot(A, snapshot(4))
      expect(seqs(await h.storage.readLog(A, 2))).toEqual([3, 4, 5, 6])
    })

    it('compact without a snapshot drops nothing', async () => {
      await h.storage.append(A, fragments(1, 6))
      await h.storage.compact(A, 5)
      expect(seqs(await h.storage.readLog(A, 0))).toEqual([1, 2, 3, 4, 5, 6])
    })

    it('compact drops only fragments behind the newest snapshot', async () => {
      await h.storage.append(A, fragments(1, 10))
      await h.storage.writeSnapshot(A, snapshot(6))
      await h.storage.compact(A, 9)
      expect(seqs(await h.storage.readLog(A, 0))).toEqual([7, 8, 9, 10])
      await h.storage.compact(A, 3)
      expect(seqs(await h.storage.readLog(A, 0))).toEqual([7, 8, 9, 10])
      const loaded = await h.storage.load(A)
      expect(loaded?.snapshot?.seq).toBe(6)
      expect(seqs(loaded?.fragments ?? [])).toEqual([7, 8, 9, 10])
      await h.storage.append(A, [fragment(11)])
      expect(seqs(await h.storage.readLog(A, 8))).toEqual([9, 10, 11])
    })

    it('a fully compacted document is still listed, loads from its snapshot and continues its log', async () => {
      await h.storage.append(A, fragments(1, 5))
      await h.storage.writeSnapshot(A, snapshot(5))
      await h.storage.compact(A, 5)
      expect(await h.storage.documents()).toEqual([A])
      const loaded = await h.storage.load(A)
      expect(loaded?.snapshot?.seq).toBe(5)
      expect(loaded?.fragments).toEqual([])
      await expect(h.storage.append(A, [fragment(5)])).rejects.toThrow(/expected seq 6/)
      await h.storage.append(A, [fragment(6)])
    })

    it('compact of an unknown document is a no-op', async () => {
      await h.storage.compact('nothing-here' as DocId, 10)
      expect(await h.storage.documents()).toEqual([])
    })
  })
}
