import { encodeMessage } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import { encodeOp } from '../protocol/ops.js'
import type { Op } from './ot.js'
import { payloadOf, type PendingFragment } from './fragment.js'
import type { Replica } from './replica.js'
import { storedNow } from './run-completion.js'

/**
 * The root's own change, made on its confirmed state when nothing is in flight and there is no
 * storage to wait for (Sequencer.canSequenceLocally): sequenced, published and confirmed at
 * once, with nothing to transform. Its payload is the one encoded when the change was made (its
 * size was checked on those bytes), unless that one carries a refusal count: the sequenced
 * form has none. `encode` is a seam for tests that count encodes.
 */
export function sequenceLocal(r: Replica, p: PendingFragment, newState: unknown, encode: (op: Op, rejections: number) => Uint8Array = encodeOp): void {
  const base = r.seq
  const before = r.confirmed
  r.confirmed = newState
  p.fragment.baseSeq = base
  const seq = ++r.seq
  const epoch = r.io.epoch()
  const clientSeq = p.fragment.clientSeq
  const envelope = encodeMessage({ kind: Kind.FRAGMENT, origin: r.io.self, sender: r.io.self, doc: r.doc, clientSeq, seq, baseSeq: base, epoch, payload: payloadOf(p, 0, encode) })
  r.clientSeqs.set(r.io.self, clientSeq)
  r.log.append({ seq, origin: r.io.self, clientSeq, epoch, envelope })
  r.history.append({ seq, origin: r.io.self, clientSeq, base, op: p.op, sent: p.op })
  r.io.stats.sequenced++
  r.io.publishFragments(r.doc, [envelope])
  r.afterSequenced()
  p.resolve(seq)
  r.advanced()
  if (r.io.hooks?.notifies) r.io.hooks.sequenced(r.doc, [{ doc: r.doc, endpoint: r.io.self, ops: p.op, before, after: newState, seq, clientSeq }], () => storedNow(r))
}
