import { describe, expect, it } from 'vitest'
import { payloadOf, pendingFragment } from '../dist/document/fragment.js'
import { insertOp, replaceOp } from '../dist/document/ot.js'
import { Replica } from '../dist/document/replica.js'
import { newEndpointId } from '../dist/ids.js'
import { encodeOp } from '../dist/protocol/ops.js'
import { UndoStack } from '../dist/document/undo-stack.js'
import { FakeIO } from './fake-replica-io.js'

describe('a local change is encoded once', () => {
  it('sends the bytes encoded when it was made, equal to encoding its op again', () => {
    const io = new FakeIO(newEndpointId(), false)
    const r = new Replica('d', io, 100, 1 << 20)
    r.seed({ shapes: {} })
    const op = insertOp(['shapes', 'a'], { x: 1 })
    r.localChange({ shapes: { a: { x: 1 } } }, op)
    const p = r.pending[0]!
    expect(p.encoded?.op).toBe(op)
    // The payload that went up is the very array encoded when the change was made.
    expect(p.payload).toBe(p.encoded!.payload)
    expect([...p.payload]).toEqual([...encodeOp(op)])
    expect(io.up).toHaveLength(1)
  })

  it('encodes again once the op was rewritten or the refusal count moved', () => {
    const op = insertOp(['k'], 1)
    const p = pendingFragment('d', newEndpointId(), 1, op)
    let calls = 0
    const encode = (o: typeof op, n: number) => (calls++, encodeOp(o, n))
    p.encoded = { op, rejections: 0, payload: encodeOp(op) }
    expect(payloadOf(p, 0, encode)).toBe(p.encoded.payload)
    expect(calls).toBe(0)
    expect([...payloadOf(p, 3, encode)]).toEqual([...encodeOp(op, 3)])
    expect(calls).toBe(1)
    p.op = replaceOp(['k'], 1, 2)
    expect([...payloadOf(p, 0, encode)]).toEqual([...encodeOp(p.op)])
    expect(calls).toBe(2)
  })
})

describe('UndoStack.push', () => {
  it('keeps the step it was given (op, clientSeqs, group) and undoes it', () => {
    const stack = new UndoStack(10)
    const op = insertOp(['k'], 1)
    stack.push({ op, clientSeqs: [1], group: 'g' })
    const top = stack.top()!
    expect(top.op).toBe(op)
    expect(top.clientSeqs).toEqual([1])
    expect(top.group).toBe('g')
    expect(stack.pop()?.op).toBe(op)
    expect(stack.top()).toBeUndefined()
  })
})
