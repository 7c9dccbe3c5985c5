import { describe, expect, it } from 'vitest'
import { decodeMessage, encodeMessage, type Message } from '../dist/protocol/codec.js'
import { Kind } from '../dist/protocol/kinds.js'
import { encodeOp } from '../dist/protocol/ops.js'
import { refusedPayload } from '../dist/protocol/patches.js'
import { replaceOp } from '../dist/document/ot.js'
import { newEndpointId } from '../dist/ids.js'
import { vouched } from '../dist/endpoint/forwarding.js'
import type { NodeContext } from '../dist/endpoint/context.js'

/**
 * A relay passes a descendant's message up as the same message with itself as `sender` and its
 * epoch. As received, that is the received bytes with those two appended (protobuf's last value
 * wins), one copy instead of a re-encode of every field at every relay (issue 17, speed9).
 */
const relay = (maxMessageBytes = 1 << 20) => ({ id: newEndpointId(), opts: { maxMessageBytes }, succession: { epoch: 7 } }) as unknown as NodeContext

const fields = (m: Message) => ({
  kind: m.kind,
  origin: m.origin,
  sender: m.sender,
  doc: m.doc,
  clientSeq: m.clientSeq,
  seq: m.seq,
  baseSeq: m.baseSeq,
  epoch: m.epoch,
  payload: [...m.payload],
  appKind: m.appKind,
  encoding: m.encoding,
})

function received(payload: Uint8Array, epoch = 5): Message {
  const origin = newEndpointId()
  return decodeMessage(encodeMessage({ kind: Kind.FRAGMENT, origin, sender: origin, doc: 'doc', clientSeq: 3, baseSeq: 2, epoch, payload }), Infinity)
}

describe('a relay vouching for a message', () => {
  it('appends itself to the bytes received, which then read as a fresh encoding does', () => {
    const node = relay()
    const m = received(encodeOp(replaceOp(['slot'], 1, 2)))
    const up = vouched(node, m)
    // The received bytes, unchanged, then the stamp: not encoded again.
    expect([...up.subarray(0, m.raw.byteLength)]).toEqual([...m.raw])
    const fresh = encodeMessage({ ...m, sender: node.id, epoch: 7 })
    expect(fields(decodeMessage(up, Infinity))).toEqual(fields(decodeMessage(fresh, Infinity)))
    // A second relay above stamps again; the last relay is the sender.
    const above = relay()
    const twice = decodeMessage(vouched(above, decodeMessage(up, Infinity)), Infinity)
    expect(fields(twice)).toEqual({ ...fields(m), sender: above.id, epoch: 7 })
  })

  it('encodes afresh a copy with another payload (a refusal), and one too close to the size limit', () => {
    const node = relay()
    const m = received(encodeOp(replaceOp(['slot'], 1, 2)))
    const refused = { ...m, payload: refusedPayload('ERR_BAD_VALUE: no') }
    expect(fields(decodeMessage(vouched(node, refused), Infinity))).toEqual({ ...fields(refused), sender: node.id, epoch: 7 })
    const tight = relay(m.raw.byteLength + 10)
    const up = vouched(tight, m)
    expect(up.byteLength).toBeLessThanOrEqual(m.raw.byteLength + 10)
    expect(fields(decodeMessage(up, Infinity))).toEqual({ ...fields(m), sender: tight.id, epoch: 7 })
  })
})
