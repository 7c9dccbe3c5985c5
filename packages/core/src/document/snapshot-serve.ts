import { endpointIdToBytes, type DocId, type EndpointId } from '../ids.js'
import { encodeJson } from '../protocol/json.js'
import type { DocLog } from './doc-log.js'
import type { ReplicaIO } from './replica-io.js'
import { snapshotMessageOfState } from './snapshot-cache.js'

/** The parts of a replica its snapshot is made of. */
export interface SnapshotSource {
  readonly io: Pick<ReplicaIO, 'self' | 'epoch'>
  readonly doc: DocId
  readonly seq: number
  readonly confirmed: unknown
  readonly clientSeqs: ReadonlyMap<EndpointId, number>
  readonly presence: ReadonlyMap<EndpointId, unknown>
  readonly log: Pick<DocLog, 'chainAt'>
}

/**
 * The SNAPSHOT message a replica serves: its confirmed state (never its pending changes), each
 * origin's last sequenced clientSeq, presence and the history fingerprint at its seq. A large
 * state's JSON is encoded once and copied once, into the message; an unchanged document
 * answers the next joiner with the same message (snapshot-cache.ts).
 */
export function snapshotMessageOf(r: SnapshotSource): Uint8Array {
  return snapshotMessageOfState(
    r.confirmed,
    { origin: r.io.self, doc: r.doc, seq: r.seq, epoch: r.io.epoch() },
    {
      clientSeqs: [...r.clientSeqs].map(([origin, clientSeq]) => ({ origin: endpointIdToBytes(origin), clientSeq })),
      presence: [...r.presence].map(([origin, value]) => ({ origin: endpointIdToBytes(origin), value: encodeJson(value) })),
      history: r.log.chainAt(r.seq) ?? 0,
    },
  )
}
