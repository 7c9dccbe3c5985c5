import type { Document } from '@zinc/core'
import { describe, expect, it } from 'vitest'
import { waitFor as until } from './etcd-server.js'
import { MemberProcess } from './member-process.js'
import { hostProcessFixture, report, SHARDED_MEMBER } from './sharded-member-process.js'

/**
 * A paused root elected again after the root that replaced it died (found by the sharded chaos
 * run, seeds 101 and 102): host L leads, is paused (SIGSTOP) past its lease, host M takes over
 * and confirms changes, M is killed as L wakes. L stepped down with no children, so it is
 * elected knowing no survivor; M's clients (the writer's forest) re-join it moments later,
 * ahead of it. Recovery used to end at once, and the writer, served L's older history, lost the
 * changes M had confirmed. Now a root elected knowing nobody waits its recovery window for
 * whoever re-joins and fetches what they hold.
 */

const TTL_MS = 2000
type Tokens = { tokens: string[] }

const { etcdServer, hosts, forest: startForest } = hostProcessFixture(TTL_MS)

describe('a paused root elected again after its successor died (etcd, host processes)', () => {
  it('keeps every change its successor confirmed', { timeout: 240_000 }, async (ctx) => {
    if (etcdServer.skip(ctx)) return
    const prefix = `zinc-stale-root-${process.pid}/`
    const argv = ['--etcd', etcdServer.server.endpoint, '--prefix', prefix, '--ttl', String(TTL_MS), '--shards', '1']
    for (const name of ['h0', 'h1']) {
      const h = new MemberProcess(SHARDED_MEMBER, name, argv)
      hosts.push(h)
      await h.next('ready')
    }
    const leader = async () => (await Promise.all(hosts.map(async (h) => ((await report(h)).led.includes(0) ? h : undefined)))).find((h) => h)
    await until(async () => (await leader()) !== undefined, 'a host leads the shard', 60_000)
    const paused = (await leader())!
    const successor = hosts.find((h) => h !== paused)!

    const forest = await startForest(prefix)
    const doc: Document<Tokens> = await forest.open<Tokens>('doc', { initial: { tokens: [] } })
    const confirmed: string[] = []
    let writing = true
    const writes = (async () => {
      for (let n = 0; writing; n++) {
        const token = `w#${n}`
        doc
          .change((d) => void d.tokens.push(token))
          ?.confirmed.then(
            () => void confirmed.push(token),
            () => {},
          )
        await new Promise((r) => setTimeout(r, 25))
      }
    })()
    await until(() => confirmed.length >= 10, 'changes confirmed by the first root', 60_000)

    paused.signal('SIGSTOP')
    await until(async () => (await report(successor)).led.includes(0), `${successor.name} leads once ${paused.name}'s lease is gone`, 60_000)
    const before = confirmed.length
    await until(() => confirmed.length >= before + 10, `changes confirmed by ${successor.name}`, 60_000)
    const bySuccessor = confirmed.slice(before)
    await successor.kill()
    paused.signal('SIGCONT')
    await until(async () => (await report(paused)).led.includes(0), `${paused.name} leads again`, 60_000)
    await until(() => confirmed.length >= before + bySuccessor.length + 10, `changes confirmed by ${paused.name} again`, 60_000)
    writing = false
    await writes
    await doc.synced({ timeoutMs: 60_000 })

    const lost = confirmed.filter((t) => !doc.state.tokens.includes(t))
    expect(lost, `confirmed changes missing (${bySuccessor.length} were confirmed by ${successor.name}: ${bySuccessor.join(', ')})`).toEqual([])
    for (const token of confirmed) expect(doc.state.tokens.filter((t) => t === token)).toHaveLength(1)
  })
})
