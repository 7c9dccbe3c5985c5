import type { Patch } from 'immer'
import { describe, expect, it } from 'vitest'
import { PathSet } from '../dist/document/path-set.js'

const replace = (...path: (string | number)[]): Patch => ({ op: 'replace', path, value: 1 })
const add = (...path: (string | number)[]): Patch => ({ op: 'add', path, value: 1 })

describe('PathSet: which remote patches commute with pending ones', () => {
  const pending = new PathSet([[replace('shapes', 'b1', 's1', 'x')], [add('shapes', 'b2', 's2')]])
  it('edits elsewhere commute', () => {
    expect(pending.overlaps([replace('shapes', 'b3', 's9', 'x')])).toBe(false)
    expect(pending.overlaps([replace('shapes', 'b1', 's7', 'y')])).toBe(false)
  })
  it('the same path, a path inside, or a path above do not', () => {
    expect(pending.overlaps([replace('shapes', 'b1', 's1', 'x')])).toBe(true)
    expect(pending.overlaps([replace('shapes', 'b1', 's1')])).toBe(true)
    expect(pending.overlaps([replace('shapes')])).toBe(true)
    expect(pending.overlaps([replace()])).toBe(true)
  })
  it('adding or removing a key touches the parent (its key order)', () => {
    expect(pending.overlaps([add('shapes', 'b2', 's3')])).toBe(true)
    expect(pending.overlaps([{ op: 'remove', path: ['shapes', 'b2', 's4'] }])).toBe(true)
    expect(pending.overlaps([add('shapes', 'b5', 's5')])).toBe(false)
  })
  it('changes inside one array never commute', () => {
    const list = new PathSet([[add('log', 3)]])
    expect(list.overlaps([add('log', 7)])).toBe(true)
    expect(list.overlaps([replace('log', 0, 'x')])).toBe(true)
  })
})
