/**
 * The sharded chaos checks on hand-made reports: a clean forest passes; a shard led twice or
 * by nobody, a host that misses a live host, a document that differs between replicas, a lost
 * confirmed change of one document, a writer without the document, and two roots of one shard
 * at one epoch each fail, naming the shard or the document.
 */
import { describe, expect, it } from 'vitest'
import { initialDoc, stateHash, write, type ChaosDoc } from './doc.js'
import type { Line } from './member-process.js'
import { documentViolations, shardEpochViolations, shardViolations } from './sharded-checks.js'

const withTokens = (...tokens: string[]): ChaosDoc => {
  const state = initialDoc()
  for (const token of tokens) write(state, token)
  return state
}
const copy = (state: ChaosDoc, extra: Record<string, unknown> = {}) => ({ seq: 3, pending: 0, hash: stateHash(state), state, ...extra })
const line = (name: string, fields: Record<string, unknown>): Line => ({ type: 'dump', name, inc: 0, t: 0, ...fields }) as Line
const hostsAll = ['h0', 'h1']
const confirmed = new Map([
  ['w1.0#0', { writer: 'w1', confirmedAt: 1, doc: 'd0' }],
  ['w1.0#1', { writer: 'w1', confirmedAt: 2, doc: 'd1' }],
])

describe('sharded chaos checks', () => {
  const d0 = withTokens('w1.0#0')
  const d1 = withTokens('w1.0#1')
  const clean = () =>
    new Map<string, Line | undefined>([
      ['h0', line('h0', { led: [0], hosts: hostsAll, docs: { d0: copy(d0) } })],
      ['h1', line('h1', { led: [1], hosts: hostsAll, docs: { d1: copy(d1) } })],
      ['w1', line('w1', { docs: { d0: copy(d0), d1: copy(d1) } })],
    ])

  it('a clean forest passes', () => {
    expect(shardViolations(clean(), 2)).toEqual([])
    expect(documentViolations(clean(), ['d0', 'd1'], ['w1'], confirmed)).toEqual([])
  })

  it('a shard led twice and one led by nobody; a host that misses a live host', () => {
    const dumps = clean()
    dumps.set('h1', line('h1', { led: [0], hosts: ['h1'], docs: {} }))
    expect(shardViolations(dumps, 2).map((v) => v.message)).toEqual(['shard 0 is led by 2 hosts: h0, h1', 'shard 1 is led by 0 hosts: none', 'h1 sees live hosts h1, not h0, h1'])
  })

  it('a lost confirmed change, replicas that differ, a writer without the document', () => {
    const dumps = clean()
    dumps.set('w1', line('w1', { docs: { d0: copy(withTokens()) } }))
    const messages = documentViolations(dumps, ['d0', 'd1'], ['w1'], confirmed).map((v) => `${v.check}: ${v.message}`)
    expect(messages.some((m) => m.startsWith('equal: doc d0: replicas differ'))).toBe(true)
    expect(messages).toContain('confirmed-lost: doc d0: w1 lacks 1 of 1 confirmed changes: w1.0#0')
    expect(messages).toContain('unresponsive: doc d1: w1 does not have it open')
  })

  it('two hosts root of one shard at one epoch, in any incarnation', () => {
    const role = (name: string, shard: number, epoch: number) => ({ type: 'role', name, inc: 0, t: 0, shard, role: 'host', epoch }) as Line
    const lines = (shard: number) => [
      { name: 'h0', lines: [role('h0', 0, 7), role('h0', 1, 9)].filter((l) => l.shard === shard) },
      { name: 'h1', lines: [role('h1', 0, 8), role('h1', 1, 9)].filter((l) => l.shard === shard) },
    ]
    expect(shardEpochViolations(2, lines).map((v) => v.message)).toEqual(['shard 1: h0 and h1 were both root at epoch 9'])
  })
})
