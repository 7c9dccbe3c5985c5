import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { insertOp, removeOp, transformPast, type Op } from '../dist/document/ot.js'
import { UndoStack } from '../dist/document/undo-stack.js'

/**
 * UndoStack carries arriving ops past its steps lazily. Whatever the interleaving of pushes,
 * arriving ops, undos and rejections, every step it hands out must be the one an eager stack
 * (every op carried past every step at once, as before) holds.
 */
class EagerStack {
  entries: Array<{ op: Op; clientSeqs: number[] }> = []
  constructor(readonly limit: number) {}
  follow(op: Op): void {
    let over = op
    for (let i = this.entries.length - 1; i >= 0 && over !== null; i--) {
      const e = this.entries[i]!
      try {
        ;({ op: e.op, over } = transformPast(e.op, over))
      } catch {
        e.op = null
      }
    }
    this.entries = this.entries.filter((e) => e.op !== null)
  }
  push(op: Op, clientSeq: number): void {
    this.entries.push({ op, clientSeqs: [clientSeq] })
    if (this.entries.length > this.limit) this.entries.shift()
  }
}

type Action = { t: 'push'; at: number; remove: boolean } | { t: 'arrive'; at: number; remove: boolean; key: boolean } | { t: 'pop' } | { t: 'top' } | { t: 'forget'; back: number }

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant('push' as const), at: fc.nat(8), remove: fc.boolean() }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant('arrive' as const), at: fc.nat(8), remove: fc.boolean(), key: fc.boolean() }) },
  fc.constant({ t: 'pop' as const }),
  fc.constant({ t: 'top' as const }),
  fc.record({ t: fc.constant('forget' as const), back: fc.nat(5) }),
)

describe('UndoStack', () => {
  it('hands out the same steps as a stack that follows every op at once', () => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 60 }), fc.integer({ min: 1, max: 6 }), (actions, limit) => {
        const lazy = new UndoStack(limit)
        const eager = new EagerStack(limit)
        let clientSeq = 0
        const listOp = (at: number, remove: boolean): Op => (remove ? removeOp(['l', at]) : insertOp(['l', at], at))
        for (const a of actions) {
          if (a.t === 'push') {
            const op = listOp(a.at, a.remove)
            lazy.push({ op, clientSeqs: [++clientSeq] })
            eager.push(op, clientSeq)
          } else if (a.t === 'arrive') {
            const op = a.key ? insertOp(['k', String(a.at)], 1) : listOp(a.at, a.remove)
            lazy.follow(op)
            eager.follow(op)
          } else if (a.t === 'pop') {
            expect(lazy.pop()?.op).toEqual(eager.entries.pop()?.op)
          } else if (a.t === 'top') {
            expect(lazy.top()?.op).toEqual(eager.entries[eager.entries.length - 1]?.op)
          } else {
            const seq = clientSeq - a.back
            lazy.forget(seq)
            eager.entries = eager.entries.filter((e) => !e.clientSeqs.includes(seq))
          }
        }
        // and every step down to the bottom
        for (let step = lazy.pop(); step; step = lazy.pop()) expect(step.op).toEqual(eager.entries.pop()?.op)
        expect(eager.entries).toEqual([])
      }),
      { numRuns: 500, seed: 17 },
    )
  })
})
