import { endpointIdToBytes, type DocId, type EndpointId } from '../ids.js'
import { encodeJson } from '../protocol/json.js'
import { encodeSnapshotMessage } from '../protocol/snapshot-message.js'
import type { DocLog } from './doc-log.js'
import type { ReplicaIO } from './replica-io.js'
import { encodeStateJson } from './snapshot-cache.js'

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
 * origin's last sequenced clientSeq, presence and the history fingerprint at its seq. The
 * state's JSON comes from the cache (snapshot-cache.ts) and is copied once, into the message
 * (protocol/snapshot-message.ts).
 */
export function snapshotMessageOf(r: SnapshotSource): Uint8Array {
  return encodeSnapshotMessage(
    { origin: r.io.self, doc: r.doc, seq: r.seq, epoch: r.io.epoch() },
    {
      state: encodeStateJson(r.confirmed),
      clientSeqs: [...r.clientSeqs].map(([origin, clientSeq]) => ({ origin: endpointIdToBytes(origin), clientSeq })),
      presence: [...r.presence].map(([origin, value]) => ({ origin: endpointIdToBytes(origin), value: encodeJson(value) })),
      history: r.log.chainAt(r.seq) ?? 0,
    },
  )
}
