import { afterEach, describe, expect, it, vi } from 'vitest'
import { inprocCluster, type InprocCluster } from './helpers.js'

// A change from a direct child is decoded (JSON.parse and the check walk) where it enters the
// tree, the root; the sequencer takes that body instead of parsing the same bytes again
// (issue 17, speed9: the root's per-fragment cost).
let cluster: InprocCluster | undefined
afterEach(async () => {
  vi.restoreAllMocks()
  await cluster?.close()
  cluster = undefined
})

describe("a child's change at the root", () => {
  it('is parsed once there (and once for the readers of this process)', async () => {
    cluster = await inprocCluster(2)
    const [writer, reader] = cluster.clients
    const doc = await writer!.open<{ s: unknown }>('d', { initial: { s: null } })
    const seen = await reader!.open<{ s: unknown }>('d')
    await Promise.all([doc.synced(), seen.synced()])
    const parse = vi.spyOn(JSON, 'parse')
    doc.change((d) => void (d.s = { marker: 'decode-once-marker' }))
    await doc.synced()
    await vi.waitFor(() => expect(seen.state.s).toEqual({ marker: 'decode-once-marker' }))
    const parses = parse.mock.calls.filter(([text]) => String(text).includes('decode-once-marker')).length
    // The root once (it was twice: the edge check, then the sequencer), the process's readers once
    // (their decoded bodies are shared, see shared-bodies.ts).
    expect(parses).toBeLessThanOrEqual(2)
  })
})
