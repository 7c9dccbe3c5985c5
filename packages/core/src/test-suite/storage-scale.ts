import { describe, expect, it } from 'vitest'
import type { DocId } from '../ids.js'
import type { StoredFragment } from '../storage.js'
import type { StorageHarness } from './storage-harness.js'
import { envelopeFor, fragment, snapshot } from './storage-setup.js'

const A = 'scale-a' as DocId
const COUNT = 100_000
const BATCH = 1_000

/** A long log: appended in batches, loaded whole, in order. */
export function storageScaleTests(h: StorageHarness): void {
  describe('a long log', () => {
    it(`${COUNT.toLocaleString('en')} fragments appended in batches of ${BATCH} load whole and in order`, async () => {
      for (let start = 1; start <= COUNT; start += BATCH) {
        const batch: StoredFragment[] = []
        for (let seq = start; seq < start + BATCH; seq++) batch.push(fragment(seq, { envelope: envelopeFor(seq, 24) }))
        await h.storage.append(A, batch)
      }
      const loaded = await h.storage.load(A)
      const list = loaded?.fragments ?? []
      expect(list.length).toBe(COUNT)
      let ordered = true
      for (let i = 0; i < list.length; i++) if (list[i]?.seq !== i + 1) ordered = false
      expect(ordered).toBe(true)
      expect([...(list[COUNT - 1]?.envelope ?? [])]).toEqual([...envelopeFor(COUNT, 24)])
      expect(list[54_321]?.clientSeq).toBe(54_322 * 3)

      await h.storage.writeSnapshot(A, snapshot(99_000))
      const after = await h.storage.load(A)
      expect(after?.fragments.length).toBe(1_000)
      expect(after?.fragments[0]?.seq).toBe(99_001)
      await h.storage.compact(A, 99_000)
      expect((await h.storage.readLog(A, 0)).length).toBe(1_000)
    })
  })
}
