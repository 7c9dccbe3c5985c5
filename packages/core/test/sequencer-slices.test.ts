import { describe, expect, it } from 'vitest'
import { Replica } from '../dist/document/replica.js'
import type { ReplicaIO } from '../dist/document/replica-io.js'
import { decodeMessage, encodeMessage, type Message } from '../dist/protocol/codec.js'
import { Kind } from '../dist/protocol/kinds.js'
import { encodeOp } from '../dist/protocol/ops.js'
import { insertOp } from '../dist/document/ot.js'
import { emptyStats } from '../dist/runtime/stats.js'
import { silentLogger } from '../dist/logger.js'
import { newEndpointId, type EndpointId } from '../dist/ids.js'

/**
 * A root sequences a big batch in slices of at most a few tens of milliseconds (heartbeats and
 * I/O run in between): however the batch is cut, every fragment is sequenced exactly once, in
 * the order it was accepted, and what arrives between slices comes after the batch.
 */
const DOC = 'doc'

function rootReplica() {
  const deferred: Array<() => void> = []
  const later: Array<() => void> = []
  const published: Message[] = []
  const io: ReplicaIO = {
    self: newEndpointId(),
    logger: silentLogger,
    stats: emptyStats(),
    storage: undefined,
    epoch: () => 1,
    now: () => Date.now(),
    isRoot: () => true,
    sendUp() {},
    publishFragments: (_doc, envelopes) => void published.push(...envelopes.map((e) => decodeMessage(e, Infinity))),
    publishOnDoc() {},
    sendTo() {},
    defer: (fn) => void deferred.push(fn),
    later: (fn) => void later.push(fn),
    maybeSnapshot() {},
  }
  const replica = new Replica(DOC, io, 10_000, 1 << 30)
  replica.seed({ tokens: [] })
  replica.becomeSequencer()
  const runDeferred = () => {
    while (deferred.length > 0) deferred.shift()!()
  }
  return { replica, io, published, later, runDeferred }
}

const fragment = (origin: EndpointId, clientSeq: number, at: number, token: string) =>
  decodeMessage(encodeMessage({ kind: Kind.FRAGMENT, origin, doc: DOC, clientSeq, baseSeq: 0, epoch: 1, payload: encodeOp(insertOp(['tokens', at], token)) }), Infinity)

describe('a sliced flush', () => {
  it('sequences a burst of concurrent pushes onto one list over several turns, each once, in order', () => {
    const root = rootReplica()
    const origins = [newEndpointId(), newEndpointId(), newEndpointId()]
    const N = 400
    // Every writer pushes N tokens onto the list it saw empty (base 0): all concurrent.
    for (let k = 0; k < N; k++) origins.forEach((o, w) => root.replica.sequencer!.accept(fragment(o, k + 1, k, `w${w}#${k}`)))
    root.runDeferred()
    let turns = 0
    const late = newEndpointId()
    while (root.later.length > 0) {
      turns++
      // Between slices: another writer's change arrives; it is sequenced after the batch.
      if (turns === 1) root.replica.sequencer!.accept(fragment(late, 1, 0, 'late'))
      root.later.shift()!()
      root.runDeferred()
    }
    expect(turns, 'the batch took more than one slice').toBeGreaterThan(0)
    const tokens = (root.replica.confirmed as { tokens: string[] }).tokens
    expect(root.replica.seq).toBe(3 * N + 1)
    expect(tokens).toHaveLength(3 * N + 1)
    expect(new Set(tokens).size).toBe(tokens.length)
    // each writer's pushes keep their order; the late change is the last sequenced
    for (let w = 0; w < 3; w++) {
      const mine = tokens.filter((t) => t.startsWith(`w${w}#`))
      expect(mine).toEqual(Array.from({ length: N }, (_, k) => `w${w}#${k}`))
    }
    expect(root.published.map((m) => m.seq)).toEqual(Array.from({ length: 3 * N + 1 }, (_, i) => i + 1))
    expect(root.published[3 * N]!.origin).toBe(late)
    expect(root.io.stats.rejected + root.io.stats.staleBases).toBe(0)
  })
})
