/**
 * The sharded chaos cluster (docs/chaos.md, "Sharded"): hosts h0…, each a `ShardedHost` process
 * with its own LMDB directory leading some of the shards, and writers w1…, each a `Forest`
 * process writing to every document. etcd elects each shard's root among the hosts that the
 * live set assigns it to; a host restarts under the same id and data directory.
 *
 * For the nemesis (nemesis.ts, `Targets`), a host that leads at least one shard is a root (its
 * epoch: the newest of its shards'), one that leads none is a `standby`, and a writer is a
 * `client`: so `kill-root` and `pause-root` hit hosts, `kill-leaf` hits writers.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Liveness } from './cluster.js'
import { commonArgv, MemberProcess, type Line } from './member-process.js'
import type { Targets } from './nemesis.js'

export interface ShardedClusterOptions extends Liveness {
  script: string
  dataDir: string
  hosts: number
  writers: number
  shards: number
  /** The documents every writer opens and writes to. */
  docs: string[]
  writeEveryMs: number
  logLevel: string
  etcd: { endpoint: string; prefix: string; leaseTtlMs: number }
}

export class ShardedCluster implements Targets {
  readonly members: MemberProcess[] = []

  constructor(readonly options: ShardedClusterOptions) {
    const common = commonArgv(options)
    for (let i = 0; i < options.hosts; i++) {
      const dir = join(options.dataDir, `h${i}`)
      mkdirSync(dir, { recursive: true })
      this.members.push(new MemberProcess({ name: `h${i}`, script: options.script, argv: ['--host', '--storage', dir, '--shards', String(options.shards), ...common] }))
    }
    for (let i = 1; i <= options.writers; i++)
      this.members.push(new MemberProcess({ name: `w${i}`, script: options.script, argv: ['--docs', JSON.stringify(options.docs), '--write-every', String(options.writeEveryMs), ...common] }))
  }

  get hosts(): MemberProcess[] {
    return this.members.filter((m) => m.name.startsWith('h'))
  }

  get writers(): MemberProcess[] {
    return this.members.filter((m) => m.name.startsWith('w'))
  }

  /** The first host alone (it writes the shard count), then the other hosts, then the writers. */
  async start(timeoutMs: number): Promise<void> {
    const [first, ...rest] = this.hosts
    for (const level of [[first!], rest, this.writers]) {
      for (const m of level) m.start()
      await Promise.all(level.map((m) => this.opened(m, timeoutMs)))
    }
  }

  opened(m: MemberProcess, timeoutMs: number): Promise<void> {
    return m.opened(timeoutMs)
  }

  /** Each shard's role and epoch on host `m`'s current incarnation, from its `started` and `role` lines. */
  shardRoles(m: MemberProcess): Map<number, { role: string; epoch: number }> {
    const roles = new Map<number, { role: string; epoch: number }>()
    for (const l of m.lines) {
      if (l.inc !== m.incarnation) continue
      if (l.type === 'started' && Array.isArray(l.roles)) for (const r of l.roles) roles.set(r.shard, { role: r.role, epoch: r.epoch })
      if (l.type === 'role') roles.set(l.shard, { role: l.role, epoch: l.epoch })
    }
    return roles
  }

  roleOf(m: MemberProcess): { role: string; epoch: number } | undefined {
    if (!m.name.startsWith('h')) return { role: 'client', epoch: 0 }
    const led = [...this.shardRoles(m).values()].filter((r) => r.role === 'host')
    return led.length > 0 ? { role: 'host', epoch: Math.max(...led.map((r) => r.epoch)) } : { role: 'standby', epoch: 0 }
  }

  roots(): MemberProcess[] {
    return this.withRole('host').sort((x, y) => this.roleOf(y)!.epoch - this.roleOf(x)!.epoch)
  }

  withRole(role: string): MemberProcess[] {
    return this.members.filter((m) => m.state === 'running' && this.roleOf(m)?.role === role)
  }

  /** Every host's role lines for one shard, as epochViolations reads them (every incarnation). */
  shardLines(shard: number): Array<{ name: string; lines: Line[] }> {
    return this.hosts.map((m) => ({
      name: m.name,
      lines: m.lines.flatMap((l): Line[] => {
        if (l.type === 'role' && l.shard === shard) return [l]
        const r = l.type === 'started' && Array.isArray(l.roles) ? l.roles.find((x: { shard: number }) => x.shard === shard) : undefined
        return r ? [{ ...l, type: 'role', role: r.role, epoch: r.epoch }] : []
      }),
    }))
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()))
  }
}
