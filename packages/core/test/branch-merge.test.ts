import { describe, expect, it } from 'vitest'
import { Replica } from '../dist/document/replica.js'
import { newEndpointId, type DocId, type EndpointId } from '../dist/ids.js'
import { encodeMessage } from '../dist/protocol/codec.js'
import { Kind } from '../dist/protocol/kinds.js'
import { encodeOp } from '../dist/protocol/ops.js'
import { decode, FakeIO } from './fake-replica-io.js'

const DOC = 'doc' as DocId
type State = { log: string[] }

/** A root whose history is 3 common pushes, then 2 of its own branch: seq 5. */
function rootWithHistory() {
  const io = new FakeIO(newEndpointId(), true)
  const replica = new Replica(DOC, io, 100, 1 << 20)
  replica.seed({ log: [] })
  replica.becomeSequencer()
  const common = newEndpointId()
  const winner = newEndpointId()
  const push = (origin: EndpointId, clientSeq: number, at: number, token: string) =>
    replica.sequencer!.accept(decode(encodeMessage({ kind: Kind.FRAGMENT, origin, doc: DOC, clientSeq, baseSeq: replica.seq, epoch: 1, payload: encodeOp(['log', at, { i: token }]) })))
  for (let i = 0; i < 3; i++) {
    push(common, i + 1, i, `c${i}`)
    io.tick()
  }
  const fork = replica.seq
  const chain = replica.log.chainAt(fork)!
  push(winner, 1, 3, 'w0')
  io.tick()
  push(winner, 2, 4, 'w1')
  io.tick()
  return { io, replica, fork, chain }
}

/** Another history after the fork: a and b alternating pushes, as that history sequenced them (indexes of its own longer list). */
function branchAfter(fork: number, a: EndpointId, b: EndpointId): { envelopes: Uint8Array[]; tokens: string[] } {
  const envelopes: Uint8Array[] = []
  const tokens: string[] = []
  for (let i = 0; i < 6; i++) {
    const origin = i % 2 === 0 ? a : b
    const token = `${i % 2 === 0 ? 'a' : 'b'}${Math.floor(i / 2)}`
    tokens.push(token)
    const seq = fork + 1 + i
    envelopes.push(
      encodeMessage({ kind: Kind.FRAGMENT, origin, sender: a, doc: DOC, clientSeq: Math.floor(i / 2) + 1, seq, baseSeq: seq - 1, epoch: 2, payload: encodeOp(['log', fork + i, { i: token }]) }),
    )
  }
  return { envelopes, tokens }
}

describe('a root merges a branch of another history (issue 12)', () => {
  it('carries the branch past its own history since the fork: every change in, once, in the branch order', () => {
    const { io, replica, fork, chain } = rootWithHistory()
    const a = newEndpointId()
    const b = newEndpointId()
    const { envelopes, tokens } = branchAfter(fork, a, b)
    replica.sequencer!.mergeBranch(fork, chain, envelopes)
    io.tick()
    const log = (replica.confirmed as State).log
    expect(replica.seq).toBe(11)
    expect([...log].sort()).toEqual(['a0', 'a1', 'a2', 'b0', 'b1', 'b2', 'c0', 'c1', 'c2', 'w0', 'w1'])
    expect(log.filter((t) => tokens.includes(t))).toEqual(tokens)
    expect(log.slice(0, 3)).toEqual(['c0', 'c1', 'c2'])
    // Each keeps its origin and clientSeq: a resend of one is a duplicate, answered with its seq.
    replica.sequencer!.accept(decode(envelopes[2]!.slice()))
    const resend = decode(encodeMessage({ kind: Kind.FRAGMENT, origin: a, doc: DOC, clientSeq: 2, baseSeq: 5, epoch: 2, payload: encodeOp(['log', 99, { i: 'a1' }]) }))
    replica.sequencer!.accept(resend)
    io.tick()
    expect(replica.seq).toBe(11)
    expect(io.sent.filter(({ to, m }) => to === a && m.kind === Kind.ACK).map(({ m }) => m.clientSeq)).toContain(2)
  })

  it('merges nothing when its history at the fork is not the branch’s, or the branch repeats a change it has', () => {
    const { io, replica, fork, chain } = rootWithHistory()
    const a = newEndpointId()
    const b = newEndpointId()
    const { envelopes } = branchAfter(fork, a, b)
    replica.sequencer!.mergeBranch(fork, chain + 1, envelopes)
    io.tick()
    expect(replica.seq).toBe(5)
    replica.sequencer!.mergeBranch(fork, chain, envelopes)
    io.tick()
    expect(replica.seq).toBe(11)
    // The same branch again (a child of the loser passes it up too): all handled, nothing twice.
    replica.sequencer!.mergeBranch(fork, chain, envelopes)
    io.tick()
    expect(replica.seq).toBe(11)
  })

  it('waits while the sequencer is paused (a recovering root), then merges before the resends staged meanwhile', () => {
    const { io, replica, fork, chain } = rootWithHistory()
    const a = newEndpointId()
    const b = newEndpointId()
    const { envelopes } = branchAfter(fork, a, b)
    replica.sequencer!.pause()
    replica.sequencer!.mergeBranch(fork, chain, envelopes)
    // A resend of a's first change, as it was sequenced over there, made "on our head".
    replica.sequencer!.accept(decode(encodeMessage({ kind: Kind.FRAGMENT, origin: a, doc: DOC, clientSeq: 1, baseSeq: 5, epoch: 2, payload: encodeOp(['log', fork, { i: 'a0' }]) })))
    io.tick()
    expect(replica.seq).toBe(5)
    replica.sequencer!.resume()
    io.tick()
    const log = (replica.confirmed as State).log
    expect(replica.seq).toBe(11)
    expect(log.filter((t) => t === 'a0')).toHaveLength(1)
  })
})
