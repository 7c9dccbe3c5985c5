import { describe, expect, it } from 'vitest'
import { Grants } from '../dist/endpoint/grants.js'
import { newEndpointId, type DocId } from '../dist/ids.js'

describe('Grants: when each reader was last decided', () => {
  it('a reader is due once per period, and not again until the next', () => {
    const grants = new Grants()
    const child = newEndpointId()
    grants.served(child, 'a' as DocId, 0)
    expect(grants.due(999, 1000)).toEqual([])
    expect(grants.due(1000, 1000)).toEqual([{ child, doc: 'a', at: 1000 }])
    expect(grants.due(1500, 1000)).toEqual([])
    expect(grants.due(2000, 1000)).toHaveLength(1)
  })

  it('serving again resets the period; forget and clear take readers off', () => {
    const grants = new Grants()
    const [a, b] = [newEndpointId(), newEndpointId()]
    grants.served(a, 'd' as DocId, 0)
    grants.served(b, 'd' as DocId, 0)
    grants.served(a, 'd' as DocId, 900)
    expect(grants.due(1000, 1000).map((g) => g.child)).toEqual([b])
    grants.forget(b, 'd' as DocId)
    expect(grants.size).toBe(1)
    grants.clear()
    expect(grants.size).toBe(0)
  })
})
