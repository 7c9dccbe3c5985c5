import { expect, it } from 'vitest'
import { Replica } from '../dist/document/replica.js'
import { type DocId, newEndpointId } from '../dist/ids.js'
import { OpenRetries } from '../dist/endpoint/open-retry.js'
import { FakeIO } from './fake-replica-io.js'

const newReplica = () => new Replica('doc' as DocId, new FakeIO(newEndpointId(), false), 100, 1 << 20)

/** Walks one replica's retries: the wait before each, as OpenRetries chose it. */
function waits(retries: OpenRetries, replica: Replica, count: number): number[] {
  const out: number[] = []
  let now = replica.openedAt
  for (let i = 0; i < count; i++) {
    const from = now
    while (!retries.due(replica, now, 1_000)) now += 10
    out.push(now - from)
    replica.openedAt = now // the tick's requestOpen
    retries.resent(replica, 1_000)
  }
  return out
}

it('waits double from resendMs up to four times it, stretched by the random draw: none at 0, half at 1', () => {
  expect(waits(new OpenRetries(() => 0), newReplica(), 5)).toEqual([1_010, 2_010, 4_010, 4_010, 4_010])
  expect(waits(new OpenRetries(() => 0.999_999), newReplica(), 5)).toEqual([1_500, 3_000, 6_000, 6_000, 6_000])
})

it('an OPEN sent for another reason (a re-join) starts the back-off over', () => {
  const retries = new OpenRetries(() => 0)
  const replica = newReplica()
  expect(waits(retries, replica, 3)).toEqual([1_010, 2_010, 4_010])
  replica.openedAt += 500 // requestOpen from elsewhere: not a retry
  expect(waits(retries, replica, 1)).toEqual([1_010])
})

it('a crowd told nothing new spreads its retries over the jitter, instead of asking together', () => {
  const retries = new OpenRetries()
  const firsts = Array.from({ length: 200 }, () => waits(retries, newReplica(), 1)[0]!)
  expect(Math.min(...firsts)).toBeGreaterThan(1_000)
  expect(Math.max(...firsts)).toBeLessThanOrEqual(1_510)
  // 200 draws over 50 slots of 10 ms: far from all in one.
  expect(new Set(firsts).size).toBeGreaterThan(20)
})
