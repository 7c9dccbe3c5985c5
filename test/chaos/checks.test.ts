/**
 * The chaos checks themselves: each violation the suite exists to find is found, on hand-made
 * member reports (a clean tree passes; two roots, a loop, a ghost parent, a lost or doubled
 * confirmed change, a stuck member, a failed worker handler each fail with a message naming who).
 */
import { describe, expect, it } from 'vitest'
import { keyed } from '@zinc/core'
import { replicaViolations, treeViolations, workerViolations } from './checks.js'
import { initialDoc, stateHash, write, type ChaosDoc } from './doc.js'
import type { Line } from './member-process.js'

const status = (name: string, role: string, children: string[] = [], extra: Record<string, unknown> = {}): Line =>
  ({ type: 'status', name, inc: 0, t: 0, id: `id-${name}`, role, epoch: 2, parentLost: false, seq: 10, pending: 0, hash: 'h', children: children.map((c) => `id-${c}`), ...extra }) as Line
const tree = (...lines: Line[]) => new Map(lines.map((l) => [l.name, l] as [string, Line | undefined]))

describe('chaos tree checks', () => {
  it('a clean tree passes', () => {
    expect(treeViolations(tree(status('r0', 'host', ['a', 'b']), status('a', 'relay', ['w1']), status('b', 'client'), status('w1', 'client')))).toEqual([])
  })

  it('two roots, and none', () => {
    expect(treeViolations(tree(status('r0', 'host', ['a']), status('a', 'client'), status('b', 'host'))).map((v) => v.check)).toEqual(['one-root'])
    expect(treeViolations(tree(status('a', 'client'))).map((v) => v.check)).toEqual(['one-root', 'attached'])
  })

  it('a parent loop with no root above it', () => {
    const v = treeViolations(tree(status('r0', 'host'), status('a', 'relay', ['b']), status('b', 'relay', ['c']), status('c', 'relay', ['a'])))
    expect(v.filter((x) => x.check === 'attached').map((x) => x.message)).toContain('parent loop: a → c → b → a')
  })

  it('a member whose parent is dead (no live member lists it), a lost parent, a member claimed twice, an unresponsive one', () => {
    const statuses = tree(
      status('r0', 'host', ['a', 'w1']),
      status('a', 'relay', ['w1']),
      status('w1', 'client'),
      status('w2', 'client', [], { parentLost: true }),
      status('w3', 'client', [], { starting: 'joining' }),
    )
    statuses.set('w4', undefined)
    const v = treeViolations(statuses)
    const messages = v.map((x) => `${x.check}: ${x.message}`)
    expect(messages).toContain('attached: w1 is a child of both r0 and a')
    expect(messages.some((m) => m.startsWith('attached: w2 (client) has lost its parent'))).toBe(true)
    expect(messages.some((m) => m.startsWith('attached: w2 ends at w2'))).toBe(true)
    expect(messages).toContain('unresponsive: w3 is still starting its endpoint (no parent welcomed it)')
    expect(messages.some((m) => m.startsWith('unresponsive: w4 did not answer'))).toBe(true)
  })
})

describe('chaos replica checks', () => {
  const doc = (tokens: string[]): ChaosDoc => {
    const d = structuredClone(initialDoc())
    for (const t of tokens) write(d, t)
    return d
  }
  const dump = (name: string, state: ChaosDoc, pending = 0) => ({ type: 'dump', name, inc: 0, t: 0, seq: 3, pending, hash: stateHash(state), state }) as Line
  const confirmed = (tokens: string[]) => new Map(tokens.map((t) => [t, { writer: 'w1', confirmedAt: 0 }]))
  const tokens = ['w1.0#0', 'w1.0#1', 'w1.0#2'] // a list push, a plain entry, a keyed entry

  it('equal replicas holding every confirmed change once pass', () => {
    const state = doc(tokens)
    expect(keyed.get(state.shapes, 'w1.0#2')).toBe('w1')
    expect(replicaViolations(tree(dump('a', state), dump('b', doc([...tokens].reverse()))), confirmed(tokens))).toEqual([])
  })

  it('a lost list push, a lost keyed entry, a doubled push, differing replicas, pending changes', () => {
    const lost = doc(['w1.0#1'])
    const doubled = doc([...tokens, 'w1.0#0'])
    const v = replicaViolations(tree(dump('a', doc(tokens)), dump('b', lost), dump('c', doubled, 2)), confirmed(tokens))
    const messages = v.map((x) => `${x.check}: ${x.message}`)
    expect(messages.some((m) => m.startsWith('equal: replicas differ'))).toBe(true)
    expect(messages).toContain('equal: c still has 2 pending changes')
    expect(messages).toContain('confirmed-lost: b lacks 2 of 3 confirmed changes: w1.0#0, w1.0#2')
    expect(messages).toContain('confirmed-duplicated: c has 1 confirmed changes more than once: w1.0#0×2')
  })
})

describe('chaos worker checks', () => {
  const stats = (s: Record<string, number>) => ({ stats: { workerTasks: 0, workerErrors: 0, workerTimeouts: 0, workerCrashes: 0, ...s } })
  it('handlers that ran and never failed pass', () => {
    expect(workerViolations(tree(status('r0', 'host', [], stats({ workerTasks: 40 })), status('a', 'client', [], stats({}))), [])).toEqual([])
  })

  it('a failed registration, a handler that failed, and handlers that never ran are found', () => {
    const failed = { type: 'worker-failed', name: 'w2', inc: 1, t: 0, error: 'Cannot load the worker handler module /x.mjs: no such file' } as Line
    const v = workerViolations(tree(status('r0', 'host', [], stats({ workerTasks: 3, workerTimeouts: 1 })), status('a', 'client', [], stats({ workerTasks: 5 }))), [failed])
    expect(v.map((x) => x.message)).toEqual([
      'w2 (incarnation 1) could not register its worker handler: Cannot load the worker handler module /x.mjs: no such file',
      "r0's worker handler failed: 0 threw, 1 timed out, 0 threads died",
    ])
    expect(workerViolations(tree(status('r0', 'host', [], stats({}))), []).map((x) => x.message)).toEqual(['no live member handled a single note in its worker thread'])
  })
})
