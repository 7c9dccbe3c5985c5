/**
 * Host promotion across processes over ZeroMQ on loopback tcp (the tree example's `member.js`):
 * SIGKILL the root, or a relay, in the middle of a burst of edits. Afterwards exactly one root,
 * every survivor equal to it, every change made by a survivor present exactly once — including
 * those the dead endpoint had acknowledged. The in-process twin is test/failover.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Proc, type Line } from './zmq-helpers.js'

// zmq-helpers' Proc runs scripts of examples/dist/cluster/; the member process lives next door.
const MEMBER = '../tree/member.js' as 'client.js'
/**
 * Fast liveness: a death is noticed within 3 s. The root's transforms no longer hold its loop
 * (it sequences in slices of at most 40 ms, see bench/results/intent.md), and alone this test
 * passes with 1.5 s; but next to test/chaos on a 2-core box, the root-kill case then failed 2
 * of 5 runs (the promoted client never reported synced), with the core of main as well. A live
 * endpoint starved of CPU and presumed dead is a spurious failover; this test is about real
 * deaths.
 */
const FAST = ['--heartbeat', '100', '--peer-timeout', '3000']
const CHANGES = 120

const procs: Proc[] = []
afterEach(async (context) => {
  const done = procs.splice(0)
  await Promise.all(done.map((p) => p.kill()))
  // ZINC_DEBUG_DIR=<dir> (with ZINC_LOG=info for the endpoints' own logs) keeps every process's output.
  if (process.env.ZINC_DEBUG_DIR) {
    const { writeFileSync } = await import('node:fs')
    const prefix = context.task.name.slice(0, 20).replace(/\W+/g, '-')
    for (const p of done) writeFileSync(`${process.env.ZINC_DEBUG_DIR}/${prefix}-${p.label}.log`, p.output.join('\n'))
  }
})

function member(name: string, argv: string[] = []): Proc {
  const log = process.env.ZINC_LOG ? ['--log', process.env.ZINC_LOG] : []
  const p = new Proc(MEMBER, ['--name', name, '--quiet', ...FAST, ...log, ...argv], name)
  procs.push(p)
  return p
}

async function joined(name: string, parent: Line, argv: string[] = []): Promise<[Proc, Line]> {
  const p = member(name, ['--join', JSON.stringify(parent.addresses), ...argv])
  return [p, await p.next('ready')]
}

/** Sends `command` and waits for the next (not an earlier) JSON line of `type`. */
function ask(p: Proc, command: string, type: string, timeoutMs = 60_000): Promise<Line> {
  const skip = p.lines.filter((l) => l.type === type).length
  p.send(command)
  return p.next(type, { skip, timeoutMs })
}

const acked = (p: Proc): string[] => p.lines.filter((l) => l.type === 'acked').flatMap((l) => l.tokens as string[])
const tokensMadeBy = (name: string, count: number) => Array.from({ length: count }, (_, i) => `${name}#${i}`)

/** Resolves once `predicate` holds for the lines seen so far (checked whenever a line arrives). */
async function until(p: Proc, predicate: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  // Proc wakes waiters on every line; a never-printed type is a cheap way to wait for the next one.
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`${p.label}: timed out waiting for ${what}. Output:\n${p.tail()}`)
    await p.next('__never__', { timeoutMs: 50 }).catch(() => {})
  }
}

/** Survivors converge on `root`: each reports once it reached the root's final seq in `epoch`. */
async function settle(root: Proc, others: Proc[], epoch: number): Promise<{ final: Line; reports: Line[] }> {
  const final = await ask(root, `report 0 ${epoch}`, 'report')
  const reports = await Promise.all(others.map((p) => ask(p, `report ${final.seq} ${epoch}`, 'report')))
  return { final, reports }
}

function expectConverged(final: Line, reports: Line[], editors: Array<{ name: string; made: number }>): void {
  for (const r of reports) {
    expect(r.seq, r.name).toBe(final.seq)
    expect(r.pending, r.name).toBe(0)
    expect(r.epoch, r.name).toBe(final.epoch)
    expect(r.hash, r.name).toBe(final.hash)
    expect(r.state, r.name).toEqual(final.state)
    expect(r.stats.badFrames, r.name).toBe(0)
  }
  const tokens: string[] = final.state.tokens
  expect(new Set(tokens).size, 'no token twice').toBe(tokens.length)
  for (const { name, made } of editors) {
    const mine = tokens.filter((t) => t.startsWith(`${name}#`))
    expect([...mine].sort(), `${name}: every change exactly once`).toEqual(tokensMadeBy(name, made).sort())
  }
}

describe('failover across processes over tcp', () => {
  it('SIGKILL the root mid-burst: one client is promoted, every survivor converges on it, nothing made by a survivor is lost or doubled', { timeout: 180_000 }, async () => {
    const root = member('root')
    const rootReady = await root.next('ready')
    const clients: Proc[] = []
    for (const name of ['c0', 'c1', 'c2', 'c3']) clients.push((await joined(name, rootReady))[0])

    clients.forEach((c) => c.send(`go ${CHANGES} 10`))
    // Mid-burst: every client has had some changes acknowledged by the root, and has more to make.
    await Promise.all(clients.map((c) => until(c, () => acked(c).length >= 15, '15 acknowledged changes')))
    const ackedByDeadRoot = clients.map((c) => acked(c))
    root.child.kill('SIGKILL')
    expect(await root.exit()).toBe('SIGKILL')

    const synced = await Promise.all(clients.map((c) => c.next('synced', { timeoutMs: 120_000 })))
    for (const s of synced) expect(s.error, s.name).toBeUndefined()
    const promoted = clients.filter((c) => c.lines.some((l) => l.type === 'role' && l.role === 'host'))
    expect(
      promoted.map((p) => p.label),
      'exactly one survivor became host',
    ).toHaveLength(1)
    const newRoot = promoted[0]!
    const others = clients.filter((c) => c !== newRoot)
    const { final, reports } = await settle(newRoot, others, 2)

    expect(final.role).toBe('host')
    expect(final.epoch).toBe(2)
    for (const r of reports) expect(r.role, r.name).not.toBe('host')
    expectConverged(
      final,
      reports,
      clients.map((c) => ({ name: c.label, made: CHANGES })),
    )
    expect(final.state.tokens).toHaveLength(clients.length * CHANGES)
    // What the dead root acknowledged to a survivor is there (implied by the above; said explicitly).
    for (const tokens of ackedByDeadRoot) for (const t of tokens) expect(final.state.tokens).toContain(t)
    expect(final.stats.rejected).toBe(0)
  })

  it('SIGKILL a relay of a 3-level tree mid-burst: its children re-attach under the root; the root stays root at epoch 1', { timeout: 180_000 }, async () => {
    //        root
    //       /    \
    //     ra      rb        ra is killed
    //    /  \    /  \
    //   a1  a2  b1  b2
    const root = member('root')
    const rootReady = await root.next('ready')
    const [ra, raReady] = await joined('ra', rootReady)
    const [rb, rbReady] = await joined('rb', rootReady)
    const [a1, a1Ready] = await joined('a1', raReady)
    const [a2, a2Ready] = await joined('a2', raReady)
    const [b1] = await joined('b1', rbReady)
    const [b2] = await joined('b2', rbReady)
    const survivors = [root, rb, a1, a2, b1, b2]

    survivors.forEach((p) => p.send(`go ${CHANGES} 10`))
    ra.send(`go ${CHANGES} 10`)
    await Promise.all([a1, a2].map((c) => until(c, () => acked(c).length >= 15, '15 acknowledged changes')))
    ra.child.kill('SIGKILL')
    expect(await ra.exit()).toBe('SIGKILL')

    const synced = await Promise.all(survivors.map((p) => p.next('synced', { timeoutMs: 120_000 })))
    for (const s of synced) expect(s.error, s.name).toBeUndefined()
    const { final, reports } = await settle(root, survivors.slice(1), 1)

    // The root stayed the root, at epoch 1; nobody else was promoted.
    expect(final.role).toBe('host')
    expect(final.epoch).toBe(1)
    expect(root.lines.filter((l) => l.type === 'role')).toEqual([])
    for (const p of survivors.slice(1))
      expect(
        p.lines.filter((l) => l.type === 'role' && l.role === 'host'),
        p.label,
      ).toEqual([])
    expectConverged(
      final,
      reports,
      survivors.map((p) => ({ name: p.label, made: CHANGES })),
    )
    // ra's own changes: whatever the root sequenced of them is there once (checked by the no-duplicates rule).
    // The dead relay's children are back in the tree: under the root (the first in succession order
    // takes the relay's place), or under that one.
    const byName = new Map(reports.map((r) => [r.name, r]))
    const underRoot = [a1Ready.id, a2Ready.id].filter((id) => final.peers.includes(id))
    expect(underRoot.length, 'at least one orphan re-attached under the root').toBeGreaterThanOrEqual(1)
    expect(final.peers).toContain(rbReady.id)
    for (const [name, id] of [
      ['a1', a1Ready.id],
      ['a2', a2Ready.id],
    ] as const) {
      const placed = final.peers.includes(id) || underRoot.some((parentId) => byName.get(parentId === a1Ready.id ? 'a1' : 'a2')!.peers.includes(id))
      expect(placed, `${name} is under the root or under its re-attached sibling`).toBe(true)
    }
    for (const a of [byName.get('a1')!, byName.get('a2')!]) {
      expect(a.stats.receivedByKind.WELCOME ?? 0, `${a.name} joined twice (the relay, then its new parent)`).toBeGreaterThanOrEqual(2)
    }
  })
})
