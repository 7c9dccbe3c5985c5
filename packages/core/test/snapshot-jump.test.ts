/**
 * A replica that takes a snapshot instead of fragments (after a failover, a resync) while
 * changes it sent are unanswered: the root may still sequence the copies sent before the jump.
 * Whatever arrives in what order, each change lands where its author made it, once, and none
 * is refused for not fitting (issue 12: the failover test once saw a pending text edit refused,
 * "a text edit reaches offset 7, past the end of a 6-character string").
 */
import { describe, expect, it } from 'vitest'
import { produce } from '../dist/document/immer.js'
import { diffToOp } from '../dist/document/diff.js'
import { applyOp, type Op } from '../dist/document/ot.js'
import { Replica } from '../dist/document/replica.js'
import { newEndpointId, type DocId, type EndpointId } from '../dist/ids.js'
import { encodeMessage } from '../dist/protocol/codec.js'
import { encodeOp } from '../dist/protocol/ops.js'
import { Kind } from '../dist/protocol/kinds.js'
import { SnapshotCodec } from '../dist/protocol/payloads.js'
import type { Message } from '../dist/protocol/codec.js'
import { orphansBeyond } from '../dist/endpoint/branch-up.js'
import { carryOnto } from '../dist/document/snapshot-jump.js'
import { decode, deliver, drain, FakeIO, seededRoot } from './fake-replica-io.js'

const DOC = 'shared' as DocId

/** A client of `root`, ready from its snapshot. */
function client(root: Replica): { io: FakeIO; r: Replica } {
  const io = new FakeIO(newEndpointId(), false)
  const r = new Replica(DOC, io, 1000, 1 << 20)
  takeSnapshot(r, root)
  return { io, r }
}

/** `r` takes `root`'s snapshot, as it does when its OPEN is answered with one. */
function takeSnapshot(r: Replica, root: Replica): void {
  const snap = decode(root.snapshotMessage())
  r.expectSnapshot = true
  r.applySnapshot(snap.seq, SnapshotCodec.decode(snap.payload))
}

function accept(root: { io: FakeIO; root: Replica }, m: Message): void {
  root.root.sequencer!.accept(m)
  root.io.tick()
}

/** A change of another endpoint, made on `baseSeq`. */
function fragment(origin: EndpointId, clientSeq: number, op: Op, baseSeq = 0): Message {
  return decode(encodeMessage({ kind: Kind.FRAGMENT, origin, doc: DOC, clientSeq, baseSeq, epoch: 1, payload: encodeOp(op) }))
}

const textOf = (r: Replica) => (r.visible as { s: string }).s
/** A text edit of `s`: insert `text` at `at`. */
const insertAt = (at: number, text: string): Op => ['s', { es: at === 0 ? [text] : [at, text] }]

describe('pending changes across a snapshot jump', () => {
  it('a change sent before the jump is sequenced as sent, and the next one lands right after it', async () => {
    const root = seededRoot(DOC, { s: 'aa' })
    const a = client(root.root)
    const b = client(root.root)

    // A types Y then Z after it: "aa" → "aYa" → "aYZa". Both go up on base 0; the copy of the
    // second is lost (the relay that carried it died), the first is still on its way.
    const y = a.r.localChange(applyOp(a.r.visible, insertAt(1, 'Y')), insertAt(1, 'Y'))
    const z = a.r.localChange(applyOp(a.r.visible, insertAt(2, 'Z')), insertAt(2, 'Z'))
    const [yCopy, zLost] = a.io.takeUp()
    expect([yCopy!.clientSeq, zLost!.clientSeq]).toEqual([y.clientSeq, z.clientSeq])

    // Meanwhile B types an "a" at the end, and A takes the root's snapshot (a failover, a
    // resync): the text there is "aaa", and none of A's changes is in it yet. From the
    // snapshot alone, where B typed is a guess ("aa" → "aaa" reads as an "a" at the start).
    b.r.localChange(applyOp(b.r.visible, insertAt(2, 'a')), insertAt(2, 'a'))
    for (const m of b.io.takeUp()) accept(root, m)
    takeSnapshot(a.r, root.root)

    // Then the root gets what A sent: the old copy first, then whatever A sends now, then its
    // resends (a re-join resends everything unanswered).
    accept(root, yCopy!)
    for (const m of a.io.takeUp()) accept(root, m)
    a.r.resendPending(0)
    for (let round = 0; round < 5; round++) {
      for (const m of a.io.takeUp()) accept(root, m)
      for (const m of root.io.takePublished()) deliver(a.r, m)
      for (const { m } of root.io.takeSent()) deliver(a.r, m)
      a.io.tick()
    }

    // Z sits right after Y, as A typed it, and B's "a" at the end. Nothing refused.
    expect((root.root.confirmed as { s: string }).s).toBe('aYZaa')
    expect(textOf(a.r)).toBe('aYZaa')
    await expect(y.confirmed).resolves.toBeGreaterThan(0)
    await expect(z.confirmed).resolves.toBeGreaterThan(0)
    expect(a.r.unsettled).toHaveLength(0)
  })

  it('a change in doubt whose copy the new root cannot place (made on a history it lacks) is sent again on its snapshot', async () => {
    // A followed a root that went further (seq 3) than the one it must now follow (seq 1).
    const other = seededRoot(DOC, { s: 'aa' })
    const real = seededRoot(DOC, { s: 'aa' })
    const w = newEndpointId()
    for (let i = 1; i <= 3; i++) accept(other, fragment(w, i, ['k' + i, { i }]))
    accept(real, fragment(w, 1, ['k1', { i: 1 }]))
    const a = client(other.root)
    const y = a.r.localChange(applyOp(a.r.visible, insertAt(1, 'Y')), insertAt(1, 'Y'))
    const [copy] = a.io.takeUp()
    expect(copy!.baseSeq).toBe(3)
    // The real root's snapshot: Y stays in doubt, as sent.
    takeSnapshot(a.r, real.root)
    expect(a.io.takeUp()).toEqual([])
    // Its copy reaches the real root, which has no seq 3: ERR_DIVERGED. A asks for a snapshot,
    // takes it, and sends Y again, made on it.
    accept(real, copy!)
    for (const { m } of real.io.takeSent()) deliver(a.r, m)
    expect(a.io.takeUp().map((m) => [m.kind, m.seq])).toEqual([[Kind.OPEN, 0]])
    takeSnapshot(a.r, real.root)
    const again = a.io.takeUp().filter((m) => m.kind === Kind.FRAGMENT)
    expect(again.map((m) => [m.clientSeq, m.baseSeq])).toEqual([[y.clientSeq, 1]])
    accept(real, again[0]!)
    for (const m of real.io.takePublished()) a.r.receiveSequenced(m)
    a.io.tick()
    expect((real.root.confirmed as { s: string }).s).toBe('aYa')
    await expect(y.confirmed).resolves.toBe(2)
    expect(a.r.unsettled).toHaveLength(0)
  })

  it('changes confirmed on a history the new root lacks, ours and an orphan of another author, are made again where they stood, not at their old indexes', async () => {
    // Two roots with one start: pads p0..p5 in a list. On the new one, V then drops the pads and
    // adds v0; A follows the old one, where its a0 and a1 land after the pads, then W adds w0.
    const pads = (r: { io: FakeIO; root: Replica }) => {
      const w = newEndpointId()
      for (let i = 0; i < 6; i++) accept(r, fragment(w, i + 1, ['log', i, { i: `p${i}` }]))
    }
    const old = seededRoot(DOC, { log: [] })
    const next = seededRoot(DOC, { log: [] })
    pads(old)
    pads(next)
    const v = newEndpointId()
    accept(next, fragment(v, 1, ['log', [0, { r: true }], [1, { r: true }], [2, { r: true }], [3, { r: true }], [4, { r: true }], [5, { r: true }]], 6))
    accept(next, fragment(v, 2, ['log', 0, { i: 'v0' }], 7))
    expect((next.root.confirmed as { log: string[] }).log).toEqual(['v0'])

    const a = client(old.root)
    const follow = () => {
      for (const m of a.io.takeUp()) accept(old, m)
      for (const m of old.io.takePublished()) a.r.receiveSequenced(m)
      a.io.tick()
    }
    follow()
    const a0 = a.r.localChange(applyOp(a.r.visible, ['log', 6, { i: 'a0' }]), ['log', 6, { i: 'a0' }])
    const a1 = a.r.localChange(applyOp(a.r.visible, ['log', 7, { i: 'a1' }]), ['log', 7, { i: 'a1' }])
    follow()
    const w = newEndpointId()
    accept(old, fragment(w, 1, ['log', 8, { i: 'w0' }], 8))
    follow()
    await expect(a0.confirmed).resolves.toBe(7)
    await expect(a1.confirmed).resolves.toBe(8)
    expect((a.r.confirmed as { log: string[] }).log).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'a0', 'a1', 'w0'])

    // A's history is replaced by the new root's: its confirmed a0 and a1 are not there, nor
    // W's w0 (W may be gone: A passes it up, see handlers/from-parent.ts).
    const snap = decode(next.root.snapshotMessage())
    const snapshot = SnapshotCodec.decode(snap.payload)
    const orphans = orphansBeyond(a.r, snapshot, a.io.self)
    expect(orphans.map((o) => o.clientSeq)).toEqual([1])
    a.r.expectSnapshot = true
    a.r.applySnapshot(snap.seq, snapshot, orphans)
    for (const m of a.io.takeUp()) accept(next, m)
    for (const o of orphans)
      accept(next, decode(encodeMessage({ kind: Kind.FRAGMENT, origin: o.origin, sender: a.io.self, doc: DOC, clientSeq: o.clientSeq, baseSeq: snap.seq, epoch: 1, payload: o.payload })))
    for (const { m } of next.io.takeSent()) deliver(a.r, m)
    for (const m of next.io.takePublished()) a.r.receiveSequenced(m)
    a.io.tick()
    await drain()
    // Sent again, they land in bounds, once, ours in their order, and nothing is refused. (Ours
    // and W's reach the root as concurrent changes: their order there is the root's to pick.)
    const log = (next.root.confirmed as { log: string[] }).log
    expect([...log].sort()).toEqual(['a0', 'a1', 'v0', 'w0'])
    expect(log.indexOf('a0')).toBeLessThan(log.indexOf('a1'))
    expect(a.r.unsettled).toHaveLength(0)
    for (const m of next.io.takePublished()) a.r.receiveSequenced(m)
    a.io.tick()
    expect((a.r.visible as { log: string[] }).log).toEqual(log)
  })

  it(
    'random interleavings of edits, deliveries and jumps: nothing refused, lost or doubled, and every replica equal',
    async () => {
      // Seeds 101 and 151 refused a text edit ("reaches offset 4, past the end of a 3-character
      // string") and lost a token before changes sent before a jump were kept as sent. More with
      // ZINC_JUMP_SEEDS=<n> (seeds 1..n; 1,000 passed).
      const many = Number(process.env.ZINC_JUMP_SEEDS ?? 0)
      const seeds = many > 0 ? Array.from({ length: many }, (_, i) => i + 1) : [...Array.from({ length: 40 }, (_, i) => i + 1), 101, 151]
      const failures: string[] = []
      for (const seed of seeds) {
        const problems = await interleaving(seed)
        if (problems.length > 0) failures.push(`seed ${seed}: ${problems.join('; ')}`)
      }
      expect(failures).toEqual([])
    },
    120_000 + 500 * Number(process.env.ZINC_JUMP_SEEDS ?? 0),
  )
})

describe('carrying pending changes onto a snapshot (carryOnto)', () => {
  // The snapshot's state is decoded: none of its objects is one of ours.
  const decoded = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T

  it('a removal of an element another author removed meanwhile removes nothing else, whatever came in its place', () => {
    for (const [madeOn, target] of [
      [{ l: ['a', 'b'] }, { l: ['c', 'b'] }],
      [{ l: [{ t: 'a' }, { t: 'b' }] }, { l: [{ t: 'c' }, { t: 'b' }] }],
    ] as const) {
      const pending = [{ op: ['l', 0, { r: true }] as Op }]
      carryOnto(pending, madeOn, decoded(target))
      // Before, 'a' and 'c' were paired as one element edited in place: the removal took 'c'.
      expect(applyOp(decoded(target), pending[0]!.op)).toEqual(target)
    }
  })

  it('an edit inside an object another author edited meanwhile follows it; one inside an unchanged one stays there', () => {
    const madeOn = {
      shapes: [
        { id: 1, x: 0, color: 'red' },
        { id: 2, x: 0, color: 'red' },
        { id: 3, x: 0, color: 'red' },
      ],
    }
    // Another author moved shape 1, removed shape 2 and added shape 4 where it stood.
    const target = decoded({
      shapes: [
        { id: 1, x: 5, color: 'red' },
        { id: 4, x: 9, color: 'red' },
        { id: 3, x: 0, color: 'red' },
      ],
    })
    const pending = [{ op: ['shapes', 0, 'color', { r: true, i: 'blue' }] as Op }, { op: ['shapes', 2, 'color', { r: true, i: 'green' }] as Op }]
    carryOnto(pending, madeOn, target)
    const after = pending.reduce<unknown>((state, p) => applyOp(state, p.op), target)
    expect(after).toEqual({
      shapes: [
        { id: 1, x: 5, color: 'blue' },
        { id: 4, x: 9, color: 'red' },
        { id: 3, x: 0, color: 'green' },
      ],
    })
  })
})

/**
 * Three clients push tokens into a list and write a few string keys (as the failover test's
 * members do: keys get text edits, and concurrent ones merge); messages are delivered in
 * random amounts, and now and then a client drops what is on its way to it and takes the
 * root's snapshot. Then everything settles.
 */
async function interleaving(seed: number): Promise<string[]> {
  let x = seed
  const rand = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648
  const root = seededRoot(DOC, { tokens: [], keys: {} })
  const clients = ['a', 'b', 'c'].map((name) => ({ name, ...client(root.root), made: 0, inbox: [] as Message[], confirmed: [] as Array<Promise<unknown>> }))
  const toRoot: Message[] = []
  const collect = () => {
    for (const c of clients) toRoot.push(...c.io.takeUp().filter((m) => m.kind === Kind.FRAGMENT))
  }
  const deliverToRoot = (n: number) => {
    for (let i = 0; i < n && toRoot.length > 0; i++) accept(root, toRoot.shift()!)
    const published = root.io.takePublished()
    for (const c of clients) c.inbox.push(...published)
    for (const { to, m } of root.io.takeSent()) clients.find((c) => c.io.self === to)?.inbox.push(m)
  }
  const deliverTo = (c: (typeof clients)[number], n: number) => {
    for (let i = 0; i < n && c.inbox.length > 0; i++) deliver(c.r, c.inbox.shift()!)
    c.io.tick()
  }
  for (let step = 0; step < 300; step++) {
    const roll = rand()
    const c = clients[Math.floor(rand() * clients.length)]!
    if (roll < 0.35) {
      const i = c.made++
      const before = c.r.visible as { tokens: string[]; keys: Record<string, string> }
      const op = diffToOp(
        before,
        produce(before, (d) => {
          d.tokens.push(`${c.name}${i}`)
          d.keys[`k${i % 3}`] = `${c.name}${i}`
        }),
      )
      c.confirmed.push(c.r.localChange(applyOp(before, op), op).confirmed.catch((error: Error) => error))
    } else if (roll < 0.6) deliverToRoot(1 + Math.floor(rand() * 3))
    else if (roll < 0.95) deliverTo(c, 1 + Math.floor(rand() * 4))
    else {
      // A jump: what was on its way to the client is lost; it takes the root's snapshot and,
      // as after a re-join, resends what is unanswered.
      c.inbox.length = 0
      c.r.resetStaged()
      takeSnapshot(c.r, root.root)
      c.r.resendPending(0)
    }
    collect()
  }
  for (let round = 0; round < 100 && clients.some((c) => c.r.unsettled.length > 0 || c.inbox.length > 0 || toRoot.length > 0); round++) {
    if (round % 10 === 9) for (const c of clients) c.r.resendPending(0)
    collect()
    deliverToRoot(Infinity)
    for (const c of clients) deliverTo(c, Infinity)
  }
  await drain()
  const problems: string[] = []
  const tokens = (root.root.confirmed as { tokens: string[] }).tokens
  for (const c of clients) {
    for (const outcome of await Promise.all(c.confirmed)) if (outcome instanceof Error) problems.push(`${c.name} refused: ${outcome.message}`)
    if (c.r.unsettled.length > 0) problems.push(`${c.name}: ${c.r.unsettled.length} unanswered`)
    if (JSON.stringify(c.r.visible) !== JSON.stringify(root.root.confirmed)) problems.push(`${c.name} differs from the root`)
    const mine = tokens.filter((t) => t.startsWith(c.name))
    if (mine.length !== c.made || new Set(mine).size !== mine.length) problems.push(`${c.name}: ${mine.length} of ${c.made} tokens`)
  }
  return problems
}
