import type { Document } from '@zinc/core'
import { describe, expect, it } from 'vitest'
import { assignShards } from '../src/index.js'
import { waitFor as until } from './etcd-server.js'
import { MemberProcess } from './member-process.js'
import { hostProcessFixture, report, SHARDED_MEMBER } from './sharded-member-process.js'

/**
 * A paused sharded host (SIGSTOP for two leases) across processes over ZeroMQ, on a real etcd,
 * while a forest writes to every document: the other host leads its shards meanwhile; on waking
 * the paused one confirms nothing, steps down, and gets shards back by handover; no two hosts
 * ever acknowledge for one shard at once; every change confirmed to the writer survives.
 * ZINC_ETCD_LONG=1: three hosts, three pauses.
 */

const LONG = process.env.ZINC_ETCD_LONG === '1'
const TTL_MS = 2000
const SHARDS = 4
/** How long a host stays paused: two leases, so its leases surely expire and others lead meanwhile. */
const PAUSE_MS = TTL_MS * 2
const DOCS = 16
type Tokens = { tokens: string[] }

const { etcdServer, hosts, forest } = hostProcessFixture(TTL_MS)

describe('a paused sharded host (SIGSTOP) on etcd', () => {
  it('its shards are led by the others meanwhile; on waking it steps down and confirms nothing; never two hosts acknowledging one shard; nothing confirmed lost', { timeout: 300_000 }, async (ctx) => {
    if (etcdServer.skip(ctx)) return
    const prefix = `zinc-sharded-pause-${process.pid}/`
    const argv = ['--etcd', etcdServer.server.endpoint, '--prefix', prefix, '--ttl', String(TTL_MS), '--shards', String(SHARDS)]
    for (const name of LONG ? ['h0', 'h1', 'h2'] : ['h0', 'h1']) {
      const h = new MemberProcess(SHARDED_MEMBER, name, argv)
      hosts.push(h)
      await h.next('ready')
    }
    // Every shard led by the host the live set assigns it to (what every host computes).
    const owners = assignShards(
      SHARDS,
      hosts.map((h) => h.name),
    )
    const settled = async () => (await Promise.all(hosts.map(report))).every((r, i) => JSON.stringify(r.led) === JSON.stringify(owners.flatMap((o, shard) => (o === hosts[i]!.name ? [shard] : []))))
    await until(settled, 'the shards split between the hosts', 60_000)

    // A writer: a change to one document after another, every 20 ms, throughout.
    const writer = await forest(prefix)
    const ids = Array.from({ length: DOCS }, (_, i) => `doc-${i}`)
    const docs: Array<Document<Tokens>> = await Promise.all(ids.map((id) => writer.open<Tokens>(id, { initial: { tokens: [] } })))
    const made: string[] = []
    const confirmed = new Set<string>()
    let writing = true
    const writes = (async () => {
      for (let n = 0; writing; n++) {
        const token = `w#${n}`
        made.push(token)
        docs[n % DOCS]!.change((d) => void d.tokens.push(token))?.confirmed.then(
          () => confirmed.add(token),
          () => {},
        )
        await new Promise((r) => setTimeout(r, 20))
      }
    })()

    /** Per pause: the paused host, when, and the shards it led then, with their epochs. */
    const stops: Array<{ host: MemberProcess; at: number; led: Map<number, number> }> = []
    for (let i = 0; i < (LONG ? 3 : 1); i++) {
      const paused = hosts[1 + (i % (hosts.length - 1))]!
      const { led, endpoints } = await report(paused)
      const epochs = new Map(led.map((shard) => [shard, endpoints[shard]!.epoch]))
      await new Promise((r) => setTimeout(r, 500))
      const at = Date.now()
      paused.signal('SIGSTOP')
      stops.push({ host: paused, at, led: epochs })
      const others = hosts.filter((h) => h !== paused)
      // Its leases expire: the others lead every shard while it sleeps.
      await until(async () => (await Promise.all(others.map(report))).flatMap((r) => r.led).length === SHARDS, 'the others lead every shard', 60_000)
      await new Promise((r) => setTimeout(r, Math.max(0, at + PAUSE_MS - Date.now())))
      paused.signal('SIGCONT')
      // It steps down for every shard it led, and then gets its share back by handover.
      await until(() => led.every((shard) => paused.of('role').some((l) => l.shard === shard && Number(l.t) > at && l.role !== 'host')), `${paused.name} stepped down on waking`, 60_000)
      await until(settled, 'the shards split between the hosts again', 60_000)
    }
    await new Promise((r) => setTimeout(r, 500))
    writing = false
    await writes
    await Promise.all(docs.map((d) => d.synced({ timeoutMs: 60_000 })))

    const seen = hosts.flatMap((h) => h.of('seen'))
    for (const stop of stops)
      for (const [shard, epoch] of stop.led) {
        // Nothing confirmed once its lease could have ended (the first sample after the pause
        // may show what was sequenced just before the stop).
        const late = stop.host.of('seen').filter((l) => l.shard === shard && Number(l.epoch) === epoch && Number(l.t) > stop.at + TTL_MS && l.afterGap !== true)
        expect(late, `${stop.host.name} confirmed for shard ${shard} at epoch ${epoch} after its lease`).toEqual([])
        // Never two at once: its last confirmation at that epoch came before the next root's first.
        const last = Math.max(
          ...stop.host
            .of('seen')
            .filter((l) => l.shard === shard && Number(l.epoch) === epoch && l.afterGap !== true)
            .map((l) => Number(l.t)),
        )
        const next = Math.min(...seen.filter((l) => l.shard === shard && Number(l.epoch) > epoch).map((l) => Number(l.t)))
        expect(last, `${stop.host.name} confirmed for shard ${shard} before the pause`).toBeGreaterThan(0)
        expect(next, `another host confirmed for shard ${shard} after it`).toBeLessThan(Infinity)
        expect(last, `shard ${shard}: ${stop.host.name} at epoch ${epoch} vs the next root`).toBeLessThan(next)
      }
    // At most one host was ever root of a shard at any one epoch.
    const rootAt = new Map<string, Set<string>>()
    for (const h of hosts)
      for (const l of h.of('role'))
        if (l.role === 'host') {
          const key = `${String(l.shard)}@${String(l.epoch)}`
          ;(rootAt.get(key) ?? rootAt.set(key, new Set()).get(key)!).add(h.name)
        }
    for (const [key, names] of rootAt) expect([...names], `roots of shard@epoch ${key}`).toHaveLength(1)
    // Every change made is in its document exactly once, as a fresh reader sees it at the roots.
    const reader = await forest(prefix)
    const read = await Promise.all(ids.map((id) => reader.open<Tokens>(id)))
    const all = read.flatMap((d) => d.state.tokens)
    expect(confirmed.size).toBe(made.length)
    for (const token of made)
      expect(
        all.filter((t) => t === token),
        token,
      ).toHaveLength(1)
    console.log(
      `[etcd sharded pause] ${stops.length} pause(s) of ${PAUSE_MS} ms; ${made.length} changes over ${DOCS} documents and ${SHARDS} shards, all confirmed once; roots (shard@epoch): ${[...rootAt].map(([k, n]) => `${k}:${[...n]}`).join(' ')}`,
    )
  })
})
