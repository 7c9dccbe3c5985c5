import { describe, expect, it } from 'vitest'
import { produce, produceWithPatches, enablePatches } from 'immer'
import { bucketPath, keyed, type Keyed } from '@zinc/core'

enablePatches()

type Shape = { x: number }

describe('keyed collections', () => {
  const base = keyed.from(Array.from({ length: 1000 }, (_, i) => [`s${i}`, { x: i }] as const))

  it('gets, sets, deletes and counts entries', () => {
    expect(keyed.size(base)).toBe(1000)
    expect(keyed.get(base, 's7')).toEqual({ x: 7 })
    expect(keyed.has(base, 'nope')).toBe(false)
    const next = produce(base, (d) => {
      keyed.set(d, 'new', { x: -1 })
      keyed.draftOf<Shape>(d, 's7')!.x = 70
      expect(keyed.delete(d, 's8')).toBe(true)
      expect(keyed.delete(d, 's8')).toBe(false)
    })
    expect(keyed.get(next, 'new')).toEqual({ x: -1 })
    expect(keyed.get(next, 's7')).toEqual({ x: 70 })
    expect(keyed.has(next, 's8')).toBe(false)
    expect(keyed.size(next)).toBe(1000)
    expect(new Set([...keyed.entries(next)].map(([id]) => id)).size).toBe(1000)
  })

  it('keeps every bucket, so a set-then-delete leaves the collection as it was', () => {
    const empty: Keyed<Shape> = keyed.empty()
    const one = produce(empty, (d) => keyed.set(d, 'a', { x: 1 }))
    const none = produce(one, (d) => void keyed.delete(d, 'a'))
    expect(none).toEqual(keyed.empty())
    expect(keyed.size(none)).toBe(0)
  })

  it('inserts touch only the id inside an existing bucket, never a whole bucket', () => {
    const patches: unknown[] = []
    produceWithPatches(keyed.empty<Shape>(), (d) => keyed.set(d, 'fresh', { x: 1 }))[1].forEach((p) => patches.push(p))
    expect(patches).toEqual([{ op: 'add', path: [...bucketPath('fresh'), 'fresh'], value: { x: 1 } }])
  })

  it('diff reports exactly what changed and skips shared buckets', () => {
    const next = produce(base, (d) => {
      keyed.draftOf<Shape>(d, 's1')!.x = 100
      keyed.set(d, 'added', { x: 5 })
      keyed.delete(d, 's2')
    })
    const { upserted, removed } = keyed.diff(base, next)
    expect(upserted.map(([id]) => id).sort()).toEqual(['added', 's1'])
    expect(removed).toEqual(['s2'])
    expect(keyed.diff(undefined, base).upserted).toHaveLength(1000)
    expect(keyed.diff(next, next)).toEqual({ upserted: [], removed: [] })
  })
})
