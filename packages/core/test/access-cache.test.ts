import { describe, expect, it } from 'vitest'
import { AccessCache, MAX_ACCESS_ENTRIES, MAX_ACCESS_PENDING, type AccessDecision } from '../dist/endpoint/access-cache.js'
import { endpointIdToBytes, newEndpointId, type DocId } from '../dist/ids.js'

const doc = 'doc' as DocId

function answer(subject: string, allowed: boolean, ttlMs: number, everyone = false) {
  return { endpoint: endpointIdToBytes(subject as never), allowed, reason: allowed ? '' : 'no', ttlMs, everyone, code: allowed ? '' : 'ERR_ACCESS_DENIED' }
}

describe('AccessCache: the root decisions a relay serves opens on', () => {
  it('keeps a decision exactly for the ttl the root gave: after it, the root is asked again', () => {
    const cache = new AccessCache()
    const a = newEndpointId()
    expect(cache.wait(a, doc, 'open', () => {}, 0)).toBe(true)
    cache.answer(a, doc, answer(a, true, 1000), 0)
    expect(cache.cached(a, doc, 999)?.decision).toEqual({ allowed: true })
    expect(cache.cached(a, doc, 1000)).toBeUndefined()
  })

  it('a refusal is served as a refusal, never as an allowance; only the root answering again changes it', () => {
    const cache = new AccessCache()
    const a = newEndpointId()
    const seen: AccessDecision[] = []
    cache.wait(a, doc, 'open', (d) => seen.push(d), 0)
    for (const settle of cache.answer(a, doc, answer(a, false, 60_000), 0)) settle()
    expect(seen).toEqual([{ allowed: false, code: 'ERR_ACCESS_DENIED', reason: 'no' }])
    expect(cache.cached(a, doc, 10)?.decision.allowed).toBe(false)
    // Another endpoint's allowance does not leak to it.
    const b = newEndpointId()
    cache.answer(b, doc, answer(b, true, 60_000), 1)
    expect(cache.cached(a, doc, 2)?.decision.allowed).toBe(false)
    cache.answer(a, doc, answer(a, true, 60_000), 3)
    expect(cache.cached(a, doc, 4)?.decision.allowed).toBe(true)
  })

  it('a ttl of 0 is not kept', () => {
    const cache = new AccessCache()
    const a = newEndpointId()
    cache.answer(a, doc, answer(a, true, 0), 0)
    expect(cache.cached(a, doc, 0)).toBeUndefined()
  })

  it('one question per endpoint and document in flight; a resent open replaces its waiter', () => {
    const cache = new AccessCache()
    const a = newEndpointId()
    const calls: string[] = []
    expect(cache.wait(a, doc, 'open', () => calls.push('first'), 0)).toBe(true)
    expect(cache.wait(a, doc, 'open', () => calls.push('second'), 1)).toBe(false)
    expect(cache.wait(a, doc, 'relay', () => calls.push('relay'), 1)).toBe(false)
    for (const settle of cache.answer(a, doc, answer(a, true, 10), 2)) settle()
    expect(calls).toEqual(['second', 'relay'])
    expect(cache.inFlight).toBe(0)
  })

  it('unanswered questions are asked again after resendMs and given up after giveUpMs', () => {
    const cache = new AccessCache()
    const a = newEndpointId()
    cache.wait(a, doc, 'open', () => {}, 0)
    expect(cache.due(100, 500, 5000).again).toHaveLength(0)
    expect(cache.due(500, 500, 5000).again).toHaveLength(1)
    expect(cache.due(600, 500, 5000).again).toHaveLength(0)
    const { expired } = cache.due(5000, 500, 5000)
    expect(expired).toHaveLength(1)
    expect(cache.inFlight).toBe(0)
  })

  it('"everyone" (a root without authorize) settles every waiting question and holds for its ttl', () => {
    const cache = new AccessCache()
    const [a, b] = [newEndpointId(), newEndpointId()]
    let settled = 0
    cache.wait(a, doc, 'open', () => settled++, 0)
    cache.wait(b, 'other' as DocId, 'open', () => settled++, 0)
    for (const settle of cache.answer(a, doc, answer(a, true, 100, true), 0)) settle()
    expect(settled).toBe(2)
    expect(cache.cached(newEndpointId(), 'any' as DocId, 99)?.decision.allowed).toBe(true)
    expect(cache.cached(newEndpointId(), 'any' as DocId, 100)).toBeUndefined()
  })

  it('is bounded: at most MAX_ACCESS_ENTRIES decisions (the oldest go) and MAX_ACCESS_PENDING questions', () => {
    const cache = new AccessCache()
    const first = newEndpointId()
    cache.answer(first, doc, answer(first, true, 60_000), 0)
    for (let i = 0; i < MAX_ACCESS_ENTRIES; i++) {
      const id = newEndpointId()
      cache.answer(id, doc, answer(id, true, 60_000), 0)
    }
    expect(cache.size).toBe(MAX_ACCESS_ENTRIES)
    expect(cache.cached(first, doc, 1)).toBeUndefined()
    for (let i = 0; i < MAX_ACCESS_PENDING; i++) cache.wait(newEndpointId(), doc, 'open', () => {}, 0)
    expect(cache.wait(newEndpointId(), doc, 'open', () => {}, 0)).toBeUndefined()
  })

  it('a crowd opening at once asks the root once: the others wait for its first answer ("everyone" settles them all)', () => {
    const cache = new AccessCache()
    const tabs = Array.from({ length: 100 }, () => newEndpointId())
    let settled = 0
    const sent = tabs.map((t) => cache.wait(t, doc, 'open', () => settled++, 0))
    expect(sent.filter(Boolean), 'one question sent').toHaveLength(1)
    expect(cache.due(1_000, 500, 10_000).again, 'the held ones are not resent either').toHaveLength(1)
    for (const settle of cache.answer(tabs[0]!, doc, answer(tabs[0]!, true, 5_000, true), 1_001)) settle()
    expect(settled).toBe(100)
    expect(cache.release(1_001)).toEqual([])
  })

  it('when the root decides per endpoint, the held questions are sent once its first answer says so, and held no more', () => {
    const cache = new AccessCache()
    const [a, b, c] = [newEndpointId(), newEndpointId(), newEndpointId()]
    expect(cache.wait(a, doc, 'open', () => {}, 0)).toBe(true)
    expect(cache.wait(b, doc, 'open', () => {}, 0)).toBe(false)
    expect(cache.wait(c, doc, 'open', () => {}, 0)).toBe(false)
    for (const settle of cache.answer(a, doc, answer(a, false, 5_000), 1)) settle()
    expect(cache.release(2).map((p) => p.subject)).toEqual([b, c])
    expect(
      cache.wait(newEndpointId(), doc, 'open', () => {}, 3),
      'asked at once from now on',
    ).toBe(true)
  })

  it('held questions whose question in flight expired are not stranded: the oldest is sent', () => {
    const cache = new AccessCache()
    const [a, b] = [newEndpointId(), newEndpointId()]
    cache.wait(a, doc, 'open', () => {}, 0)
    cache.wait(b, doc, 'open', () => {}, 100)
    const { again, expired } = cache.due(1_000, 10_000, 1_000)
    expect(expired.map((p) => p.subject)).toEqual([a])
    expect(again.map((p) => p.subject)).toEqual([b])
  })
})
