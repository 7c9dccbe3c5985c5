import { describe, expect, it } from 'vitest'
import type { DocId } from '../ids.js'
import type { StorageHarness } from './storage-harness.js'
import { fragments } from './storage-setup.js'

/** The tree record: what a restarted endpoint remembers of the tree it was in. */
export function storageTreeTests(h: StorageHarness): void {
  describe('tree record', () => {
    it('is undefined until saved, then the last one saved, kept apart from documents', async () => {
      expect(await h.storage.loadTree()).toBeUndefined()
      await h.storage.append('tree-doc' as DocId, fragments(1, 3))
      const first = { epoch: 3, root: true, peers: [{ inbound: 'tcp://127.0.0.1:1', outbound: 'tcp://127.0.0.1:2' }] }
      await h.storage.saveTree(first)
      expect(await h.storage.loadTree()).toEqual(first)
      const second = { epoch: 4, root: false, peers: [] }
      await h.storage.saveTree(second)
      expect(await h.storage.loadTree()).toEqual(second)
      expect(await h.storage.documents()).toEqual(['tree-doc'])
    })

    it('keeps its own copy, and survives a reopen', async (ctx) => {
      const peers = [{ inbound: 'inproc://ä-in', outbound: 'inproc://ä-out' }]
      const record = { epoch: 7, root: false, peers }
      await h.storage.saveTree(record)
      peers[0]!.inbound = 'changed'
      expect((await h.storage.loadTree())?.peers[0]?.inbound).toBe('inproc://ä-in')
      if (!h.canReopen) ctx.skip()
      const storage = await h.reopen()
      expect(await storage.loadTree()).toEqual({ epoch: 7, root: false, peers: [{ inbound: 'inproc://ä-in', outbound: 'inproc://ä-out' }] })
    })
  })
}
