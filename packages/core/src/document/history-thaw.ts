import { decodeMessage } from '../protocol/codec.js'
import { decodeFragmentBody } from '../protocol/ops.js'
import type { DocLog } from './doc-log.js'
import { OpHistory, type ColdEntries, type HistoryEntry } from './op-history.js'

export type { OpHistory }

/**
 * How many of a root's newest sequenced ops its op history keeps decoded; older ones, as far
 * as the history reaches (`logLimit`), are decoded again from the log when a fragment's base
 * is that old. Over the 800 entries back a fragment's base lies at with 4 writers of 200
 * changes in flight each (the throughput bench), so those stay on the indexed path.
 */
export const HOT_HISTORY = 1024

/**
 * The op history's cold entries, read from the replica's log: every replica logs each
 * sequenced fragment's envelope at the same seq as it appends the op to its history, so an
 * entry that left the hot window is still there (until the log drops it) as the op's encoded
 * form, its base and its origin. A log cleared since the history's last reset holds another
 * history: nothing is read from it then.
 */
export function coldFromLog(log: DocLog): ColdEntries {
  let generation = log.generation
  return {
    reset() {
      generation = log.generation
    },
    at(seq: number): HistoryEntry | undefined {
      if (log.generation !== generation) return undefined
      const e = log.at(seq)
      if (e === undefined || e.seq !== seq) return undefined
      try {
        const m = decodeMessage(e.envelope, Infinity)
        const body = decodeFragmentBody(m.payload, { freeze: true })
        // Positional patches (a peer from before operations) need the state they applied to.
        if (body.patches !== undefined || m.seq !== seq) return undefined
        return { seq, origin: e.origin, clientSeq: e.clientSeq, base: m.baseSeq, op: body.op }
      } catch {
        return undefined
      }
    },
  }
}

/** A replica's op history: `limit` 0 (a leaf) holds nothing; else the newest HOT_HISTORY decoded, the rest read from `log`. */
export function historyFor(limit: number, bytesLimit: number, log: DocLog): OpHistory {
  return limit === 0 ? new OpHistory(0, bytesLimit) : new OpHistory(limit, bytesLimit, HOT_HISTORY, coldFromLog(log))
}
