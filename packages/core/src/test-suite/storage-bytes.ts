import { describe, expect, it } from 'vitest'
import type { DocId, EndpointId } from '../ids.js'
import type { StoredSnapshot } from '../storage.js'
import type { StorageHarness } from './storage-harness.js'
import { ORIGIN_A, fragment, plain, plainSnapshot } from './storage-setup.js'

const A = 'bytes-a' as DocId

/** What goes in comes out byte for byte, and the store keeps its own copy. */
export function storageBytesTests(h: StorageHarness): void {
  describe('byte-exact', () => {
    it('envelopes of every byte value, one byte and 256 KiB long, come back exactly', async () => {
      const all = new Uint8Array(256).map((_, i) => i)
      const big = new Uint8Array(256 * 1024).map((_, i) => (i * 131 + (i >> 8)) & 0xff)
      const list = [
        fragment(1, { envelope: all }),
        fragment(2, { envelope: new Uint8Array([0]) }),
        fragment(3, { envelope: big }),
        fragment(4, { envelope: all.slice().reverse(), clientSeq: 2 ** 53 - 1, origin: ORIGIN_A }),
      ]
      await h.storage.append(A, list)
      const loaded = await h.storage.load(A)
      expect(plain(loaded?.fragments ?? [])).toEqual(plain(list))
      expect(plain(await h.storage.readLog(A, 2))).toEqual(plain(list.slice(2)))
    })

    it('an envelope that is a view into a larger buffer is stored as the view only', async () => {
      const backing = new Uint8Array(64).map((_, i) => i)
      const view = backing.subarray(10, 20)
      await h.storage.append(A, [fragment(1, { envelope: view })])
      const [stored] = (await h.storage.load(A))?.fragments ?? []
      expect([...(stored?.envelope ?? [])]).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19])
    })

    it('the store keeps its own copy: changing the caller’s bytes afterwards changes nothing stored', async () => {
      const envelope = new Uint8Array([1, 2, 3, 4])
      const state = new TextEncoder().encode('{"a":1}')
      await h.storage.append(A, [fragment(1, { envelope })])
      await h.storage.writeSnapshot(A, { seq: 1, state, clientSeqs: [[ORIGIN_A, 9]] })
      envelope.fill(0)
      state.fill(0)
      const loaded = await h.storage.load(A)
      expect([...(loaded?.snapshot?.state ?? [])]).toEqual([...new TextEncoder().encode('{"a":1}')])
      expect([...((await h.storage.readLog(A, 0))[0]?.envelope ?? [])]).toEqual([1, 2, 3, 4])
    })

    it('snapshots keep their state bytes and every origin’s clientSeq exactly', async () => {
      const origins = Array.from({ length: 50 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` as EndpointId)
      const snap: StoredSnapshot = {
        seq: 3,
        state: new TextEncoder().encode(JSON.stringify({ text: 'héllo ✓ \u0000 end', n: [1, 2, 3] })),
        clientSeqs: origins.map((o, i) => [o, i * 1000 + 1] as const),
      }
      await h.storage.writeSnapshot(A, snap)
      expect(plainSnapshot((await h.storage.load(A))?.snapshot)).toEqual(plainSnapshot(snap))
    })
  })
}
