import { describe, expect, it } from 'vitest'
import { ReplicaSet, type ReplicaPorts } from '../dist/endpoint/replicas.js'
import type { ReplicaIO } from '../dist/document/replica-io.js'
import type { DocId, EndpointId } from '../dist/ids.js'
import { silentLogger } from '../dist/logger.js'
import { decodeMessage } from '../dist/protocol/codec.js'
import { encodeJson } from '../dist/protocol/json.js'
import { Kind } from '../dist/protocol/kinds.js'
import { realClock } from '../dist/runtime/clock.js'
import { emptyStats } from '../dist/runtime/stats.js'

/** A replica set of an endpoint that is not (yet) the root; what it sends up is recorded. */
function replicaSet(): { set: ReplicaSet; sent: number[]; opens: number[]; becomeRoot: () => void } {
  let root = false
  const sent: number[] = []
  /** The seq of each OPEN the set sent up (0: a snapshot is asked for). */
  const opens: number[] = []
  const io: ReplicaIO = {
    self: '00000000-0000-4000-8000-000000000001' as EndpointId,
    logger: silentLogger,
    stats: emptyStats(),
    epoch: () => 1,
    now: () => Date.now(),
    isRoot: () => root,
    sendUp: () => {},
    publishFragments: () => {},
    publishOnDoc: () => {},
    sendTo: () => {},
    defer: (fn) => queueMicrotask(fn),
    storage: undefined,
    maybeSnapshot: () => {},
    hooks: undefined,
  }
  const ports: ReplicaPorts = {
    io,
    clock: realClock,
    logger: silentLogger,
    logLimit: 100,
    maxMessageBytes: 1 << 20,
    snapshotEvery: 1000,
    storage: undefined,
    load: undefined,
    isRoot: () => root,
    epoch: () => 1,
    sendUp: (kind, bytes) => {
      sent.push(kind)
      if (kind === Kind.OPEN) opens.push(decodeMessage(bytes, Infinity).seq)
    },
    subscribeDoc: () => {},
    unsubscribeDoc: () => {},
  }
  return { set: new ReplicaSet(ports), sent, opens, becomeRoot: () => (root = true) }
}

describe('ReplicaSet', () => {
  it('a promoted successor seeds a replica not yet served with the state its opener offered, not {}', () => {
    const { set, becomeRoot } = replicaSet()
    const offered = set.create('offered' as DocId)
    set.requestOpen(offered, { hasInitial: true, initial: encodeJson({ shapes: [], title: 'mine' }) })
    const bare = set.create('bare' as DocId)
    set.requestOpen(bare, { hasInitial: false, initial: new Uint8Array(0) })
    expect(offered.ready).toBe(false)
    becomeRoot()
    set.promote()
    expect(offered.ready).toBe(true)
    expect(offered.confirmed).toEqual({ shapes: [], title: 'mine' })
    expect(bare.confirmed).toEqual({})
    expect(offered.sequencer?.paused).toBe(true)
  })

  it('an open asked again while our changes wait for a snapshot asks for that snapshot, not a catch-up (sharded chaos seed 1)', () => {
    const { set, opens } = replicaSet()
    const replica = set.create('doc' as DocId)
    set.requestOpen(replica)
    replica.applySnapshot(5, { state: encodeJson({ n: 0 }), clientSeqs: [], presence: [], history: 0 })
    replica.localChange({ n: 1 }, ['n', { r: true, i: 1 }])
    // The root lacks the history our change was made on: we ask it for a snapshot, and it dies.
    replica.rejected(1, 'the root lacks the history this change was made on', 'ERR_DIVERGED')
    expect(replica.awaitsResync).toBe(true)
    opens.length = 0
    // The open asked again (a retry, or after re-joining another root) must ask for the snapshot:
    // a catch-up from our seq would be answered, and our change would wait for good.
    set.requestOpen(replica)
    expect(opens).toEqual([0])
    expect(replica.pending).toHaveLength(1)
  })

  it('opens wait per document: one replica still being served holds back only its own openers', () => {
    const { set } = replicaSet()
    const waiting = set.create('waiting' as DocId)
    set.requestOpen(waiting)
    const served: string[] = []
    set.serveWhenReady(waiting, 'c1' as EndpointId, true, () => served.push('waiting'))
    expect(set.waitingOpens).toBe(1)
    set.serveWaiting()
    expect(served).toEqual([])
    waiting.awaitingServe = false
    waiting.seed({ n: 1 })
    set.serveWaiting()
    expect(served).toEqual(['waiting'])
    expect(set.waitingOpens).toBe(0)
  })
})
