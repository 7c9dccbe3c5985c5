import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { etcdFixture, waitFor as until } from './etcd-server.js'
import { MemberProcess } from './member-process.js'

/**
 * A paused root (SIGSTOP, longer than its lease) across processes over ZeroMQ, members elected
 * on a real etcd: it never confirms anything once its lease could have ended, no two members
 * are ever root at one epoch, and every change confirmed to its author survives.
 * ZINC_ETCD_LONG=1 pauses several times, longer.
 */

const MEMBER = join(dirname(fileURLToPath(import.meta.url)), 'member.mjs')
const LONG = process.env.ZINC_ETCD_LONG === '1'
const TTL_MS = 2000

const etcdServer = etcdFixture()
const members: MemberProcess[] = []

afterEach(async () => {
  await MemberProcess.killAll(members.splice(0))
})

describe('a paused root (SIGSTOP) on etcd', () => {
  it('never confirms after its lease could have ended, never shares an epoch, and loses nothing confirmed', { timeout: 300_000 }, async (ctx) => {
    if (etcdServer.skip(ctx)) return
    const argv = ['--etcd', etcdServer.server.endpoint, '--prefix', `zinc-pause-${process.pid}/`, '--ttl', String(TTL_MS)]
    for (const name of ['m0', 'm1', 'm2']) {
      const m = new MemberProcess(MEMBER, name, argv)
      members.push(m)
      await m.next('ready')
    }
    const pauses = LONG ? 4 : 1
    const writes = LONG ? 600 : 120
    for (const m of members) m.send(`go ${writes} 15`)
    /** Per paused root: when it was stopped, and the epoch it led at. */
    const stops: Array<{ name: string; epoch: number; at: number }> = []
    for (let i = 0; i < pauses; i++) {
      const root = members.find((m) => m.lines.filter((l) => l.type === 'role' || l.type === 'ready').at(-1)?.role === 'host')
      if (!root) throw new Error('no root to pause')
      const epoch = Number(root.lines.filter((l) => l.type === 'role' || l.type === 'ready').at(-1)!.epoch)
      await new Promise((r) => setTimeout(r, 300))
      const at = Date.now()
      root.signal('SIGSTOP')
      stops.push({ name: root.name, epoch, at })
      // Another member takes over once etcd expires the paused root's lease.
      const others = members.filter((m) => m !== root)
      await until(() => others.some((m) => m.of('role').some((l) => l.role === 'host' && Number(l.epoch) > epoch)), 'a new root elected')
      await new Promise((r) => setTimeout(r, 500))
      root.signal('SIGCONT')
      await until(
        () => root.of('role').some((l) => Number(l.t) > at && l.role !== 'host'),
        `${root.name} back as a member`,
        60_000,
        () => root.output.slice(-30).join('\n'),
      )
    }
    for (const m of members) await m.next('burst-done', 0, 120_000)
    const started = Date.now()
    // Reports until every member holds the same document (the last fragments may be on their way).
    let reports: Line[] = []
    const deadline = Date.now() + 120_000
    for (let round = 0; ; round++) {
      reports = []
      for (const m of members) {
        m.send('report')
        reports.push(await m.next('report', round, 120_000))
      }
      if (reports.every((r) => JSON.stringify(r.tokens) === JSON.stringify(reports[0]!.tokens)) || Date.now() > deadline) break
      await new Promise((r) => setTimeout(r, 200))
    }
    // Nothing confirmed after the lease could have ended: the window closes before stop + TTL.
    // (The first sample after the pause may show what was sequenced just before the stop.)
    for (const stop of stops) {
      const root = members.find((m) => m.name === stop.name)!
      const late = root.of('seen').filter((l) => Number(l.epoch) === stop.epoch && Number(l.t) > stop.at + TTL_MS && l.afterGap !== true)
      expect(late, `${stop.name} confirmed at epoch ${stop.epoch} after its lease`).toEqual([])
    }
    // At most one member was ever root at any one epoch.
    const rootAt = new Map<number, Set<string>>()
    for (const m of members)
      for (const l of [...m.of('ready'), ...m.of('role')]) if (l.role === 'host') (rootAt.get(Number(l.epoch)) ?? rootAt.set(Number(l.epoch), new Set()).get(Number(l.epoch))!).add(m.name)
    for (const [epoch, names] of rootAt) expect([...names], `roots at epoch ${epoch}`).toHaveLength(1)
    // Everyone converged, and every change confirmed to its author is there exactly once.
    const tokens = reports[0]!.tokens as string[]
    for (const r of reports) expect(r.tokens).toEqual(tokens)
    for (const m of members) {
      for (const token of m.of('acked').flatMap((l) => l.tokens as string[]))
        expect(
          tokens.filter((t) => t === token),
          token,
        ).toHaveLength(1)
      for (let i = 0; i < writes; i++) expect(tokens, `${m.name}#${i} made and never lost`).toContain(`${m.name}#${i}`)
    }
    console.log(
      `[etcd pause] ${pauses} pause(s); ${tokens.length} changes; converged ${Date.now() - started} ms after the last write; roots by epoch: ${[...rootAt].map(([e, n]) => `${e}:${[...n]}`).join(' ')}`,
    )
  })
})
