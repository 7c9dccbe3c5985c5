import { describe, expect, it } from 'vitest'
import { Identities } from '../dist/endpoint/identity.js'
import type { EndpointId } from '../dist/ids.js'

const SELF = '00000000-0000-4000-8000-000000000000' as EndpointId
const R1 = '11111111-1111-4111-8111-111111111111' as EndpointId
const R2 = '22222222-2222-4222-8222-222222222222' as EndpointId
const D = 'dddddddd-dddd-4ddd-8ddd-dddddddddddd' as EndpointId

/** Descendant claims on a transport without sessions (ZeroMQ): only the relay rules apply. */
describe('descendant claims', () => {
  const children = new Set([R1, R2])
  const isChild = (id: EndpointId) => children.has(id)
  const live = () => false
  const check = (ids: Identities, sender: EndpointId, now: number, idleBefore: number) => ids.check(sender, D, undefined, true, isChild, live, SELF, now, idleBefore)

  it('a descendant introduced by one live relay cannot be spoken for by another while that relay uses the claim', () => {
    const ids = new Identities(
      () => undefined,
      () => undefined,
    )
    expect(check(ids, R1, 1_000, 0)).toBeUndefined()
    expect(check(ids, R2, 1_500, 0)).toBe('wrong-origin')
    expect(check(ids, R1, 2_000, 1_000)).toBeUndefined()
    expect(check(ids, R2, 2_500, 1_500)).toBe('wrong-origin')
  })

  it('a claim its relay stopped using moves to the relay the descendant now speaks through, and stays there', () => {
    const ids = new Identities(
      () => undefined,
      () => undefined,
    )
    expect(check(ids, R1, 1_000, 0)).toBeUndefined()
    // R1 has not spoken for D since t=1000; anything older than t=5000 counts as idle.
    expect(check(ids, R2, 9_000, 5_000)).toBeUndefined()
    expect(check(ids, R1, 9_100, 5_100)).toBe('wrong-origin')
    expect(check(ids, R2, 9_200, 5_200)).toBeUndefined()
  })

  it('a leaf (a child that cannot bind) never speaks for anyone but itself', () => {
    const ids = new Identities(
      () => undefined,
      () => undefined,
    )
    expect(ids.check(R1, D, undefined, false, isChild, live, SELF, 1_000, 0)).toBe('wrong-origin')
  })
})
