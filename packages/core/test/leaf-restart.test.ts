/**
 * A leaf that keeps its replica (LeafStorage) dies without a goodbye and starts again from
 * what it kept, while the root still sequences the copies the old process sent, in whatever
 * form they were sent (before or after a snapshot jump rebased them locally). The restarted
 * leaf resends what it kept and goes on typing where its earlier changes stand: every change
 * whose `confirmed` resolved is in every replica exactly once, where its author made it, and
 * the replicas end equal.
 */
import { describe, expect, it } from 'vitest'
import { applyOp, type Op } from '../dist/document/ot.js'
import { diffToOp } from '../dist/document/diff.js'
import { produce } from '../dist/document/immer.js'
import { Replica } from '../dist/document/replica.js'
import { LeafPersister } from '../dist/document/leaf-persister.js'
import { MemoryLeafStorage } from '../dist/memory-leaf-storage.js'
import { isLeafSnapshot, type LeafDocument, type LeafSnapshot, type LeafState } from '../dist/leaf-storage.js'
import { newEndpointId, type DocId, type EndpointId } from '../dist/ids.js'
import { silentLogger } from '../dist/logger.js'
import { Kind } from '../dist/protocol/kinds.js'
import { RefusalCodec, SnapshotCodec } from '../dist/protocol/payloads.js'
import type { Message } from '../dist/protocol/codec.js'
import { decode, drain, FakeIO, seededRoot } from './fake-replica-io.js'

const DOC = 'shared' as DocId

/**
 * A leaf's store whose writes become durable only when the test says so (`complete`), in
 * order: a process that dies loses the writes still in flight (or, `durable`, finds the oldest
 * one written though its completion was never seen).
 */
class GatedStorage extends MemoryLeafStorage {
  readonly #inFlight: Array<{ doc: DocId; record: LeafDocument; state: LeafState | undefined; done: () => void }> = []

  override save(doc: DocId, record: LeafDocument, state?: LeafState): Promise<void> {
    // Copied now, as IndexedDB does when the write is issued.
    const copy = structuredClone({ record, state })
    return new Promise((done) => this.#inFlight.push({ doc, record: copy.record, state: copy.state, done }))
  }

  get writing(): number {
    return this.#inFlight.length
  }

  /** The oldest write in flight becomes durable and is answered. */
  async complete(): Promise<void> {
    const w = this.#inFlight.shift()
    if (!w) return
    await super.save(w.doc, w.record, w.state)
    w.done()
  }

  /** The process died: what is in flight is lost, except the oldest write when `durable`. */
  async crash(durable: boolean): Promise<void> {
    const w = this.#inFlight.shift()
    if (w && durable) await super.save(w.doc, w.record, w.state)
    this.#inFlight.length = 0
  }
}

/** `r` takes `root`'s snapshot, as it does when its OPEN is answered with one. */
function takeSnapshot(r: Replica, root: Replica): void {
  const snap = decode(root.snapshotMessage())
  r.expectSnapshot = true
  r.applySnapshot(snap.seq, SnapshotCodec.decode(snap.payload))
}

/** Hands what the root answers or publishes to a client. */
function deliver(r: Replica, m: Message): void {
  if (m.kind === Kind.FRAGMENT || m.kind === Kind.FRAGMENTS) r.receiveSequenced(m)
  else if (m.kind === Kind.SNAPSHOT) {
    r.expectSnapshot = true
    r.applySnapshot(m.seq, SnapshotCodec.decode(m.payload))
  } else if (m.kind === Kind.REJECT) {
    const f = RefusalCodec.decode(m.payload)
    r.rejected(m.clientSeq, f.reason, f.code, m.seq, m.baseSeq, f.answered ? f.answered - 1 : undefined)
  } else if (m.kind === Kind.ACK) r.acknowledged(m.clientSeq, m.seq)
}

/** Each token is in `tokens` and, as an object, at the same index in `objs`. */
type Doc = { tokens: string[]; s: string; objs: Array<{ t: string }> }

/** The markers of a text, in order: `<a3>` is change 3 of client a. */
const markers = (s: string) => [...s.matchAll(/<[a-z]\d+>/g)].map((m) => ({ mark: m[0], end: m.index + m[0].length }))

/**
 * A change of `name`'s: its token `${name}${i}` goes into the list, and its marker `<${name}${i}>`
 * into the text, each right after an element it saw (its own previous one, or one picked by
 * `pick`, or at the start). Returns the op and what it meant: the anchors, and what it saw.
 */
function nextChange(before: Doc, name: string, i: number, pick: number): { op: Op; meant: Meant } {
  const own = (t: string) => (t.startsWith(name) ? Number(t.slice(name.length)) : -1)
  const lastOwn = before.tokens.reduce((best, t, k) => (own(t) > own(before.tokens[best] ?? '') ? k : best), -1)
  const at = pick < 0.5 ? lastOwn : Math.floor(pick * 2 * before.tokens.length) - before.tokens.length
  const after = Math.min(Math.max(at, -1), before.tokens.length - 1)
  const marks = markers(before.s)
  const ownMarks = marks.filter((m) => m.mark.startsWith(`<${name}`))
  const anchor =
    pick < 0.5
      ? ownMarks.reduce<(typeof marks)[number] | undefined>((b, m) => (b === undefined || own(m.mark.slice(1, -1)) > own(b.mark.slice(1, -1)) ? m : b), undefined)
      : marks[Math.floor(pick * marks.length)]
  const pos = anchor === undefined ? 0 : anchor.end
  const op = diffToOp(
    before,
    produce(before, (d) => {
      d.tokens.splice(after + 1, 0, `${name}${i}`)
      d.objs.splice(after + 1, 0, { t: `${name}${i}` })
      d.s = d.s.slice(0, pos) + `<${name}${i}>` + d.s.slice(pos)
    }),
  )
  const meant: Meant = { token: `${name}${i}`, afterToken: before.tokens[after], afterMark: anchor?.mark, seenTokens: new Set(before.tokens), seenMarks: new Set(marks.map((m) => m.mark)) }
  return { op, meant }
}

/** Where a change was made: right after these elements (undefined: at the start), seeing these. */
interface Meant {
  token: string
  afterToken: string | undefined
  afterMark: string | undefined
  seenTokens: Set<string>
  seenMarks: Set<string>
}

/**
 * Whether `item` stands where it was meant in `list`: after its anchor, with nothing between
 * the two that its author saw (only changes concurrent with it may go there).
 */
function misplaced(list: readonly string[], item: string, anchor: string | undefined, seen: Set<string>): string | undefined {
  const at = list.indexOf(item)
  const from = anchor === undefined ? -1 : list.indexOf(anchor)
  if (anchor !== undefined && from < 0) return undefined // its anchor is not there (never confirmed)
  if (at <= from) return `${item} is before ${anchor}`
  const between = list.slice(from + 1, at).filter((x) => seen.has(x))
  return between.length > 0 ? `${item} is after ${between.join(',')}, which its author saw after ${anchor ?? 'the start'}` : undefined
}

interface Client {
  name: string
  io: FakeIO
  r: Replica
  made: number
  inbox: Message[]
  /** Per change made: its token, and the outcome of its `confirmed` (undefined while open). */
  changes: Array<{ token: string; outcome?: number | Error }>
  /** What each change meant, by token. */
  meant: Map<string, Meant>
  /** The token of each change by its clientSeq (a restarted process finds its restored changes' tokens here). */
  bySeq: Map<number, string>
  storage?: GatedStorage
  persister?: LeafPersister
}

function client(name: string, root: Replica, self: EndpointId = newEndpointId()): Client {
  const io = new FakeIO(self, false)
  const r = new Replica(DOC, io, 1000, 1 << 20)
  takeSnapshot(r, root)
  return { name, io, r, made: 0, inbox: [], changes: [], bySeq: new Map(), meant: new Map() }
}

function track(c: Client, token: string, confirmed: Promise<number>): void {
  const entry: Client['changes'][number] = { token }
  c.changes.push(entry)
  confirmed.then(
    (seq) => (entry.outcome = seq),
    (error: Error) => (entry.outcome = error),
  )
}

/** Starts (or restarts) `c` on its store: restored from what it kept, then kept from now on. */
async function startKept(c: Client, root: Replica, catchUpFirst: boolean): Promise<string | undefined> {
  const storage = c.storage!
  const loaded = await storage.load(DOC)
  c.io = new FakeIO(c.io.self, false)
  c.r = new Replica(DOC, c.io, 1000, 1 << 20)
  let kept: { seq: number; generation: number } | undefined
  if (loaded !== undefined) {
    if (!isLeafSnapshot(loaded)) return 'the kept record is unreadable'
    c.r.restoreLocal(loaded as LeafSnapshot)
    kept = { seq: loaded.state.seq, generation: c.r.log.generation }
    // The restored pending changes are the author's again: their tokens and outcomes.
    for (const p of c.r.pending) track(c, c.bySeq.get(p.fragment.clientSeq)!, p.fragment.confirmed)
  }
  c.persister = new LeafPersister(c.r, storage, silentLogger, () => {}, kept)
  // Re-joining: the parent answers the OPEN (a catch-up, or a snapshot when its log does not
  // reach back), and everything unanswered is resent; in either order.
  const open = () => (c.r.ready ? deliver(c.r, decode(root.catchUpMessage(c.r.seq))) : takeSnapshot(c.r, root))
  if (catchUpFirst) open()
  c.r.resendPending(0)
  if (!catchUpFirst) open()
  c.io.tick()
  c.persister.schedule()
  return undefined
}

/** Seeds 1..n with ZINC_LEAF_RESTART_SEEDS=<n>; by default 1..`fallback` and `more`. */
function seedsToRun(fallback: number, more: number[] = []): number[] {
  const many = Number(process.env.ZINC_LEAF_RESTART_SEEDS ?? 0)
  return many > 0 ? Array.from({ length: many }, (_, i) => i + 1) : [...Array.from({ length: fallback }, (_, i) => i + 1), ...more]
}

async function failing(seeds: number[], jumps: boolean): Promise<string[]> {
  const failures: string[] = []
  for (const seed of seeds) {
    const problems = await interleaving(seed, jumps)
    if (problems.length > 0) failures.push(`seed ${seed}: ${problems.join('; ')}`)
  }
  return failures
}

const TIMEOUT = 120_000 + 1000 * Number(process.env.ZINC_LEAF_RESTART_SEEDS ?? 0)

describe('a leaf restarted from its storage', () => {
  it(
    'random interleavings of edits, deaths and restarts: every confirmed change once, exactly where its author made it, and every replica equal',
    async () => {
      // Before the leaf kept what it sent, seeds 7 and 26 put changes made after a restart
      // away from where they were made (the root read them as made on the old process's copies).
      expect(await failing(seedsToRun(30), false)).toEqual([])
    },
    TIMEOUT,
  )

  it(
    '... and snapshot jumps and racing removals: every confirmed change once, no insert refused, no text edit inside another, and every replica equal',
    async () => {
      // Where a change lands is not checked here: a jump carries unsent changes onto the
      // snapshot by a diff, a guess even without a restart (snapshot-jump.ts). Before the leaf
      // kept what it sent, seeds 2 and 27 lost a confirmed change's text into another's. Before
      // a jump's diff matched list elements by value (jumpIdentity), seeds 262 and 365 lost a
      // token, and most seeds an object, to a removal of another one, with or without restarts
      // (the live path, snapshot-jump.ts).
      expect(await failing(seedsToRun(30, [262, 365]), true)).toEqual([])
    },
    TIMEOUT,
  )
})

/**
 * Three clients insert tokens into a list and markers into a text, each right after one it
 * sees (with `jumps`, now and then removes a token); a keeps its replica in a store whose
 * writes complete when the interleaving says so.
 * Messages are delivered in random amounts; now and then a client takes the root's snapshot
 * (with `jumps`), and a's process dies and starts again from its store. Then all settles.
 */
async function interleaving(seed: number, jumps: boolean): Promise<string[]> {
  const where = !jumps
  let x = seed
  const rand = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648
  // With jumps, the root keeps little history: changes made on an older base are answered
  // stale (made again on a newer one), and a restart is often answered with a snapshot.
  const root = { io: new FakeIO(newEndpointId(), true), root: undefined as unknown as Replica }
  root.root = new Replica(DOC, root.io, 100, 1 << 20, jumps ? 4000 : Infinity)
  root.root.seed({ tokens: [], s: '', objs: [] })
  root.root.becomeSequencer()
  const clients: Client[] = ['a', 'b', 'c'].map((name) => client(name, root.root))
  const a = clients[0]!
  a.storage = new GatedStorage(a.io.self)
  a.persister = new LeafPersister(a.r, a.storage, silentLogger, () => {})
  a.persister.schedule()
  const problems: string[] = []
  const toRoot: Message[] = []
  const collect = () => {
    for (const c of clients) toRoot.push(...c.io.takeUp().filter((m) => m.kind === Kind.FRAGMENT))
  }
  const deliverToRoot = (n: number) => {
    for (let i = 0; i < n && toRoot.length > 0; i++) {
      root.root.sequencer!.accept(toRoot.shift()!)
      root.io.tick()
    }
    const published = root.io.takePublished()
    for (const c of clients) c.inbox.push(...published)
    for (const { to, m } of root.io.takeSent()) clients.find((c) => c.io.self === to)?.inbox.push(m)
  }
  const deliverTo = (c: Client, n: number) => {
    for (let i = 0; i < n && c.inbox.length > 0; i++) deliver(c.r, c.inbox.shift()!)
    c.io.tick()
  }
  let restarts = 0
  /** Tokens some change removes (with `jumps`). */
  const removed = new Set<string>()
  for (let step = 0; step < 300; step++) {
    const roll = rand()
    const c = clients[Math.floor(rand() * clients.length)]!
    if (roll < 0.3 && jumps && rand() < 0.15 && (c.r.visible as Doc).tokens.length > 0) {
      // A token removed: two removals of one token race, and the second is refused (what it
      // removes is gone), so the changes made after it are rebased without it and sent again.
      const before = c.r.visible as Doc
      const victim = before.tokens[Math.floor(rand() * before.tokens.length)]!
      removed.add(victim)
      const op = diffToOp(
        before,
        produce(before, (d) => {
          d.objs.splice(d.tokens.indexOf(victim), 1)
          d.tokens.splice(d.tokens.indexOf(victim), 1)
        }),
      )
      const f = c.r.localChange(applyOp(before, op), op)
      c.bySeq.set(f.clientSeq, `rm:${victim}`)
      track(c, `rm:${victim}`, f.confirmed)
    } else if (roll < 0.3) {
      const i = c.made++
      const before = c.r.visible as Doc
      const { op, meant } = nextChange(before, c.name, i, rand())
      c.meant.set(meant.token, meant)
      const f = c.r.localChange(applyOp(before, op), op)
      c.bySeq.set(f.clientSeq, `${c.name}${i}`)
      track(c, `${c.name}${i}`, f.confirmed)
    } else if (roll < 0.5) deliverToRoot(1 + Math.floor(rand() * 3))
    else if (roll < 0.75) deliverTo(c, 1 + Math.floor(rand() * 4))
    else if (roll < 0.9) await a.storage.complete()
    else if (roll < 0.95) {
      if (!jumps) continue
      // A jump: what was on its way to the client is lost; it takes the root's snapshot and,
      // as after a re-join, resends what is unanswered.
      c.inbox.length = 0
      c.r.resetStaged()
      takeSnapshot(c.r, root.root)
      c.r.resendPending(0)
    } else if (roll < 0.98) {
      // The leaf's process dies: no goodbye, nothing more written; what it sent is still on
      // its way to the root. Then it starts again from its store.
      collect()
      a.persister!.stop()
      await a.storage.crash(rand() < 0.5)
      a.inbox.length = 0
      a.storage.reopen()
      restarts++
      const bad = await startKept(a, root.root, rand() < 0.5)
      if (bad) return [bad]
    }
    collect()
    await drain()
  }
  for (let round = 0; round < 200 && (clients.some((c) => c.r.unsettled.length > 0 || c.inbox.length > 0) || toRoot.length > 0 || a.storage.writing > 0); round++) {
    if (round % 10 === 9) for (const c of clients) c.r.resendPending(0)
    while (a.storage.writing > 0) await a.storage.complete()
    await drain()
    collect()
    deliverToRoot(Infinity)
    for (const c of clients) deliverTo(c, Infinity)
    await drain()
  }
  a.persister!.stop()
  const final = root.root.confirmed as Doc
  for (const c of clients) {
    if (c.r.unsettled.length > 0) problems.push(`${c.name}: ${c.r.unsettled.length} unanswered`)
    if (JSON.stringify(c.r.visible) !== JSON.stringify(final)) problems.push(`${c.name} differs from the root`)
    for (const ch of c.changes) if (ch.outcome instanceof Error && !ch.token.startsWith('rm:')) problems.push(`${ch.token} refused: ${ch.outcome.message}`)
    const confirmed = new Set(c.changes.filter((ch) => typeof ch.outcome === 'number' && !ch.token.startsWith('rm:')).map((ch) => ch.token))
    const tokens = final.tokens.filter((t) => t.startsWith(c.name))
    if (new Set(tokens).size !== tokens.length) problems.push(`${c.name}: a token twice in the list`)
    for (const t of confirmed) if (!tokens.includes(t) && !removed.has(t)) problems.push(`${t} confirmed but not in the list`)
    for (const t of confirmed) if (!final.objs.some((o) => o.t === t) && !removed.has(t)) problems.push(`${t} confirmed but not in the list of objects`)
    const marks = markers(final.s).map((m) => m.mark)
    for (const t of confirmed) {
      if (!marks.includes(`<${t}>`)) problems.push(`${t} confirmed but its marker is not in the text`)
      if (marks.filter((m) => m === `<${t}>`).length > 1) problems.push(`${t}'s marker twice in the text`)
      if (!where) continue
      const meant = c.meant.get(t)!
      const inList = misplaced(final.tokens, t, meant.afterToken, meant.seenTokens)
      if (inList) problems.push(`list: ${inList}`)
      const inText = misplaced(marks, `<${t}>`, meant.afterMark, meant.seenMarks)
      if (inText) problems.push(`text: ${inText}`)
    }
  }
  // A marker split by another (a text edit placed inside it) is a misplaced change.
  if (final.s.replace(/<[a-z]\d+>/g, '') !== '') problems.push(`the text has broken markers: ${final.s}`)
  if (restarts === 0) problems.push('no restart happened (choose another seed)')
  return problems
}

describe('a leaf restarted from a record that kept no copy of what it sent (written before copies were kept)', () => {
  it('a restored change the root already sequenced is answered with its seq when the parent answers with a snapshot', async () => {
    const root = seededRoot(DOC, { tokens: [] })
    // The old process sent its change and died before the echo; its record holds the change
    // as a change only (no `sent`).
    const old = client('a', root.root)
    const op: Op = ['tokens', 0, { i: 'a0' }]
    old.r.localChange(applyOp(old.r.visible, op), op)
    for (const m of old.io.takeUp()) root.root.sequencer!.accept(m)
    root.io.tick()
    const storage = new MemoryLeafStorage(old.io.self)
    await storage.save(DOC, { stateSeq: 0, sequenced: [], seq: 0, nextClientSeq: 2, pending: [{ clientSeq: 1, op }] }, { seq: 0, state: { tokens: [] } })

    const io = new FakeIO(old.io.self, false)
    const r = new Replica(DOC, io, 1000, 1 << 20)
    r.restoreLocal((await storage.load(DOC))!)
    const persister = new LeafPersister(r, storage, silentLogger, () => {}, { seq: 0, generation: r.log.generation })
    const confirmed = r.pending[0]!.fragment.confirmed
    // The parent answers the OPEN with a snapshot before the store wrote anything: the root
    // has the change (its count for us is 1). It is asked for its verdict, not left waiting.
    takeSnapshot(r, root.root)
    for (const m of io.takeUp()) root.root.sequencer!.accept(m)
    root.io.tick()
    for (const { m } of root.io.takeSent()) deliver(r, m)
    io.tick()
    await drain()
    persister.stop()
    expect(r.unsettled).toHaveLength(0)
    await expect(confirmed).resolves.toBe(1)
    expect(r.visible).toEqual({ tokens: ['a0'] })
    expect(root.root.confirmed).toEqual({ tokens: ['a0'] })
  })
})

describe('isLeafSnapshot and the kept copies', () => {
  it('a record whose kept copy is damaged is not taken (the document comes from the parent instead)', () => {
    const state = { seq: 2, state: { tokens: [] } }
    const copy = { base: 1, payload: new Uint8Array([1]), dirty: false, inDoubt: false }
    const record = (sent: unknown) => ({ state, record: { stateSeq: 2, sequenced: [], seq: 2, nextClientSeq: 2, pending: [{ clientSeq: 1, op: null, sent }] } })
    expect(isLeafSnapshot(record(copy))).toBe(true)
    expect(isLeafSnapshot(record(undefined))).toBe(true) // written before copies were kept
    for (const bad of [null, 7, { ...copy, base: 3 }, { ...copy, base: -1 }, { ...copy, payload: [1] }, { ...copy, dirty: 'no' }, { ...copy, inDoubt: undefined }])
      expect(isLeafSnapshot(record(bad))).toBe(false)
  })
})
