import { describe, expect, it } from 'vitest'
import { DocumentSizes } from '../dist/endpoint/document-size.js'
import type { Replica } from '../dist/document/replica.js'

/** The two fields DocumentSizes reads, as a stand-in for a root's replica. */
function replica(state: unknown, seq = 0): Replica {
  return { doc: 'd', confirmed: state, seq } as unknown as Replica
}

describe('DocumentSizes (maxDocumentBytes at the root)', () => {
  it('counts changes accepted in the same tick, before any is applied', () => {
    const sizes = new DocumentSizes()
    const r = replica({})
    const verdicts = [0, 1, 2, 3, 4].map(() => sizes.wouldExceed(r, 60_000, 200_000, 1000))
    expect(verdicts.slice(0, 3)).toEqual([undefined, undefined, undefined])
    expect(verdicts[3]).toBeGreaterThan(200_000)
    expect(verdicts[4]).toBeGreaterThan(200_000)
  })

  it('measures exactly near the limit: a document that shrank takes changes again', () => {
    const sizes = new DocumentSizes()
    const big = replica({ a: 'x'.repeat(150_000) }, 1)
    expect(sizes.wouldExceed(big, 60_000, 200_000, 0)).toBeGreaterThan(200_000)
    const shrunk = replica({ a: '' }, 2)
    expect(sizes.wouldExceed(shrunk, 60_000, 200_000, 10)).toBeUndefined()
  })

  it('forgets changes that were never applied after a while (refused later), so they do not block forever', () => {
    const sizes = new DocumentSizes()
    const r = replica({})
    for (let i = 0; i < 3; i++) sizes.wouldExceed(r, 60_000, 200_000, 0)
    expect(sizes.wouldExceed(r, 60_000, 200_000, 100)).toBeGreaterThan(200_000)
    expect(sizes.wouldExceed(r, 60_000, 200_000, 5_000)).toBeUndefined()
  })
})
