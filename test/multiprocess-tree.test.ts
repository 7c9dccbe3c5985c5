/**
 * A depth-3 tree of processes over ZeroMQ on loopback tcp (the tree example's `member.js`):
 *
 *          root
 *         /    \
 *       r1      r2
 *       |      /  \
 *      r11    m1   m2
 *     /   \
 *   l1     l2        (l1, l2 bind nothing; m1, m2 bind tcp)
 *
 * Leaves of both branches make concurrent changes; every replica, relays included, converges on
 * the root's state, and every change is present exactly once.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Proc, type Line, expectReplicasEqual } from './zmq-helpers.js'

// zmq-helpers' Proc runs scripts of examples/dist/cluster/; the member process lives next door.
const MEMBER = '../tree/member.js' as 'client.js'

const procs: Proc[] = []
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.kill()))
})

/** Generous liveness: 7 processes on 2 busy CPUs; a failover is not what this test is about. */
const LIVENESS = ['--heartbeat', '100', '--peer-timeout', '10000']

function member(name: string, argv: string[] = []): Proc {
  const p = new Proc(MEMBER, ['--name', name, '--quiet', ...LIVENESS, ...argv], name)
  procs.push(p)
  return p
}

async function joined(name: string, parent: Line, argv: string[] = []): Promise<[Proc, Line]> {
  const p = member(name, ['--join', JSON.stringify(parent.addresses), ...argv])
  return [p, await p.next('ready')]
}

const tokensOf = (line: Line): string[] => line.state.tokens

/** Sends `command` and waits for the next (not an earlier) JSON line of `type`. */
function ask(p: Proc, command: string, type: string, timeoutMs = 60_000): Promise<Line> {
  const skip = p.lines.filter((l) => l.type === type).length
  p.send(command)
  return p.next(type, { skip, timeoutMs })
}

describe('a depth-3 tree of processes over tcp', () => {
  it('leaves of different branches edit at once; every replica converges, every change exactly once', { timeout: 180_000 }, async () => {
    const CHANGES = 100
    const root = member('root')
    const rootReady = await root.next('ready')
    expect(rootReady.addresses.inbound).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/)
    const [r1, r1Ready] = await joined('r1', rootReady)
    const [r2, r2Ready] = await joined('r2', rootReady)
    const [r11, r11Ready] = await joined('r11', r1Ready)
    const [l1] = await joined('l1', r11Ready, ['--leaf'])
    const [l2] = await joined('l2', r11Ready, ['--leaf'])
    const [m1] = await joined('m1', r2Ready)
    const [m2] = await joined('m2', r2Ready)
    const leaves = [l1, l2, m1, m2]
    const relays = [r1, r11, r2]

    // One change from a leaf three hops down reaches a leaf of the other branch.
    await ask(l1, 'go 1 0', 'synced')
    expect(tokensOf(await ask(m2, 'report 1', 'report'))).toEqual(['l1#0'])
    // And back.
    await ask(m1, 'go 1 0', 'synced')
    expect([...tokensOf(await ask(l2, 'report 2', 'report'))].sort()).toEqual(['l1#0', 'm1#0'])

    // Concurrent bursts in both branches.
    const synced = await Promise.all(leaves.map((leaf) => ask(leaf, `go ${CHANGES} 5`, 'synced', 90_000)))
    for (const s of synced) expect(s.error, s.name).toBeUndefined()

    // Every change is sequenced now: the root's seq is final; every replica reports once it has reached it.
    const final = await ask(root, 'report', 'report')
    const others = [...relays, ...leaves]
    const reports = await Promise.all(others.map((p) => ask(p, `report ${final.seq}`, 'report')))

    const expected = ['l1#0', 'm1#0', ...['l1', 'l2', 'm1', 'm2'].flatMap((name) => Array.from({ length: CHANGES }, (_, i) => `${name}#${i + (name === 'l1' || name === 'm1' ? 1 : 0)}`))]
    expect(final.role).toBe('host')
    expect(final.epoch).toBe(1)
    expect(final.seq).toBe(expected.length)
    expect(final.stats.rejected).toBe(0)
    expect(final.stats.badFrames).toBe(0)
    expect([...tokensOf(final)].sort()).toEqual([...expected].sort())
    expectReplicasEqual(reports, final)
    for (const r of reports) {
      expect(r.epoch, r.name).toBe(1)
    }
    const byName = new Map(reports.map((r) => [r.name, r]))
    for (const name of ['r1', 'r11', 'r2']) expect(byName.get(name)!.role, name).toBe('relay')
    for (const name of ['l1', 'l2', 'm1', 'm2']) expect(byName.get(name)!.role, name).toBe('client')
    // Places in the tree: the root's children are r1 and r2; r1's only child is r11.
    expect([...final.peers].sort()).toEqual([r1Ready.id, r2Ready.id].sort())
    expect(byName.get('r1')!.peers).toEqual([r11Ready.id])

    // SIGTERM closes each endpoint and transport; every process exits cleanly.
    const all = [root, ...relays, ...leaves]
    for (const p of all) p.child.kill('SIGTERM')
    expect(await Promise.all(all.map((p) => p.exit()))).toEqual(all.map(() => 0))
  })

  it('the tree example runs 7 processes, prints a converged summary and stops them all', { timeout: 120_000 }, async () => {
    const main = new Proc('../tree/main.js' as 'main.js', ['--changes', '5'], 'tree-main')
    procs.push(main)
    const code = await main.exit()
    const out = main.output.join('\n')
    expect(code, out).toBe(0)
    expect(out).toMatch(/every replica converged: true; every token present exactly once: true \(20 changes/)
    expect(out).toMatch(/every process stopped/)
    expect(main.output.filter((l) => /SIGTERM, closing/.test(l))).toHaveLength(7)
  })
})
