import { describe, expect, it } from 'vitest'
import type { DocId } from '../ids.js'
import type { StorageHarness } from './storage-harness.js'
import { fragment, fragments, plain, plainSnapshot, seqs, snapshot } from './storage-setup.js'

const A = 'doc-a' as DocId
const B = 'doc/b with spaces ✓' as DocId

/** documents(), load() and the basic shape of what is stored. */
export function storageBasicTests(h: StorageHarness): void {
  describe('documents and load', () => {
    it('an empty store has no documents, and unknown documents load as undefined', async () => {
      expect(await h.storage.documents()).toEqual([])
      expect(await h.storage.load(A)).toBeUndefined()
      expect(await h.storage.readLog(A, 0)).toEqual([])
    })

    it('documents() lists every document with fragments or a snapshot', async () => {
      await h.storage.append(A, fragments(1, 3))
      await h.storage.writeSnapshot(B, snapshot(7))
      expect([...(await h.storage.documents())].sort()).toEqual([A, B].sort())
    })

    it('an empty append is a no-op and does not create the document', async () => {
      await h.storage.append(A, [])
      expect(await h.storage.documents()).toEqual([])
      expect(await h.storage.load(A)).toBeUndefined()
    })

    it('load returns the appended fragments in order, field for field', async () => {
      const list = fragments(1, 20)
      await h.storage.append(A, list.slice(0, 5))
      await h.storage.append(A, list.slice(5))
      const loaded = await h.storage.load(A)
      expect(loaded?.snapshot).toBeUndefined()
      expect(plain(loaded?.fragments ?? [])).toEqual(plain(list))
    })

    it('load returns the newest snapshot and only the fragments after it, in order', async () => {
      await h.storage.append(A, fragments(1, 10))
      await h.storage.writeSnapshot(A, snapshot(4))
      await h.storage.writeSnapshot(A, snapshot(6))
      const loaded = await h.storage.load(A)
      expect(plainSnapshot(loaded?.snapshot)).toEqual(plainSnapshot(snapshot(6)))
      expect(seqs(loaded?.fragments ?? [])).toEqual([7, 8, 9, 10])
    })

    it('replace (when the adapter has it) makes a snapshot the whole history: the log and snapshots after it are gone, appends continue from it', async () => {
      const replace = h.storage.replace?.bind(h.storage)
      if (!replace) return
      await h.storage.append(A, fragments(1, 10))
      await h.storage.writeSnapshot(A, snapshot(8))
      await h.storage.append(B, fragments(1, 3))
      await replace(A, snapshot(5))
      const loaded = await h.storage.load(A)
      expect(plainSnapshot(loaded?.snapshot)).toEqual(plainSnapshot(snapshot(5)))
      expect(seqs(loaded?.fragments ?? [])).toEqual([])
      await expect(h.storage.append(A, [fragment(7)])).rejects.toThrow()
      await h.storage.append(A, fragments(6, 7))
      expect(seqs((await h.storage.load(A))?.fragments ?? [])).toEqual([6, 7])
      expect(seqs((await h.storage.load(B))?.fragments ?? [])).toEqual([1, 2, 3])
    })

    it('documents are independent: each has its own seqs', async () => {
      await h.storage.append(A, fragments(1, 3))
      await h.storage.append(B, fragments(1, 2))
      await h.storage.append(A, [fragment(4)])
      expect(seqs((await h.storage.load(A))?.fragments ?? [])).toEqual([1, 2, 3, 4])
      expect(seqs((await h.storage.load(B))?.fragments ?? [])).toEqual([1, 2])
    })
  })
}
