/**
 * The chaos cluster: a root, 2 relays and 5 writing leaves, each its own process with its own
 * LMDB directory and its own two tcp ports on 127.0.0.1, allocated once so a restart in place
 * binds the same ones.
 *
 *            r0
 *          /    \
 *         a      b
 *        / \   / | \
 *      w1  w2 w3 w4 w5
 *
 * Every member binds, so any of them can be promoted. A member's join list is its original
 * parent first, then the other two of r0/a/b: the same command line after every restart.
 * Coordinated on etcd, every member campaigns and joins whoever etcd elects (r0 first, as it
 * starts first): a flat tree under the elected root.
 */
import { mkdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { commonArgv, MemberProcess, type Line } from './member-process.js'

export interface Liveness {
  heartbeatMs: number
  peerTimeoutMs: number
}

export interface ClusterOptions extends Liveness {
  script: string
  dataDir: string
  /** A writer makes a change every this many ms. */
  writeEveryMs: number
  /** Log level of the endpoints (their JSON logs go to stderr, kept for failure reports). */
  logLevel: string
  /** Coordinated on etcd: every member campaigns; etcd elects the root, the others join it (a flat tree). */
  etcd?: EtcdMode
}

export interface EtcdMode {
  /** host:port of an etcd member. */
  endpoint: string
  /** Election key prefix, one per run. */
  prefix: string
  leaseTtlMs: number
}

const INFRA = ['r0', 'a', 'b'] as const
const PARENT: Record<string, string> = { a: 'r0', b: 'r0', w1: 'a', w2: 'a', w3: 'b', w4: 'b', w5: 'b' }
export const WRITERS = ['w1', 'w2', 'w3', 'w4', 'w5'] as const
/** The application handler every member runs in a worker thread (member.ts, --worker). */
const NOTE_WORKER = fileURLToPath(new URL('./note-worker.mjs', import.meta.url))

type Addresses = { inbound: string; outbound: string }

/**
 * A free tcp port on 127.0.0.1 below the kernel's ephemeral range. A port from that range
 * (what `listen(0)` or `tcp://127.0.0.1:*` gets) can be taken, while its member is down, by the
 * local end of any outgoing connection on the machine, and the restart in place could not bind
 * it. Below the range only an explicit bind takes a port.
 */
async function freePort(taken: Set<number>): Promise<number> {
  let low = 32768
  try {
    low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low
  } catch {
    // Not Linux: keep the usual default.
  }
  const from = Math.max(1024, low - 12_000)
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = from + Math.floor(Math.random() * (low - from))
    if (taken.has(port)) continue
    if (await canListen(port)) {
      taken.add(port)
      return port
    }
  }
  throw new Error(`no free tcp port on 127.0.0.1 between ${from} and ${low}`)
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

export class Cluster {
  readonly members: MemberProcess[] = []
  readonly addresses = new Map<string, Addresses>()

  private constructor(readonly options: ClusterOptions) {}

  static async create(options: ClusterOptions): Promise<Cluster> {
    const cluster = new Cluster(options)
    const names = [...INFRA, ...WRITERS]
    const taken = new Set<number>()
    for (const name of names) {
      cluster.addresses.set(name, { inbound: `tcp://127.0.0.1:${await freePort(taken)}`, outbound: `tcp://127.0.0.1:${await freePort(taken)}` })
    }
    for (const name of names) {
      const dir = join(options.dataDir, name)
      mkdirSync(dir, { recursive: true })
      const parent = PARENT[name]
      const joinOrder = parent && !options.etcd ? [parent, ...INFRA.filter((n) => n !== parent && n !== name)] : []
      const argv = [
        '--bind',
        JSON.stringify(cluster.addresses.get(name)),
        '--storage',
        dir,
        ...commonArgv(options),
        ...(joinOrder.length > 0 ? ['--join', JSON.stringify(joinOrder.map((n) => cluster.addresses.get(n)))] : []),
        ...((WRITERS as readonly string[]).includes(name) ? ['--write-every', String(options.writeEveryMs)] : []),
        '--worker',
        NOTE_WORKER,
      ]
      cluster.members.push(new MemberProcess({ name, script: options.script, argv }))
    }
    return cluster
  }

  member(name: string): MemberProcess {
    const m = this.members.find((m) => m.name === name)
    if (!m) throw new Error(`no member ${name}`)
    return m
  }

  get writers(): MemberProcess[] {
    return this.members.filter((m) => (WRITERS as readonly string[]).includes(m.name))
  }

  /** Starts everyone, parents first; each waits until its document is open. */
  async start(timeoutMs: number): Promise<void> {
    for (const level of [['r0'], ['a', 'b'], [...WRITERS]]) {
      const started = level.map((name) => this.member(name))
      for (const m of started) m.start()
      await Promise.all(started.map((m) => this.opened(m, timeoutMs)))
    }
  }

  /** Waits until `m`'s current incarnation has opened the document. */
  opened(m: MemberProcess, timeoutMs: number): Promise<void> {
    return m.opened(timeoutMs)
  }

  /** What `m` last said about its role (from `started`, `role` and `parent-back` lines of this incarnation). */
  roleOf(m: MemberProcess): { role: string; epoch: number } | undefined {
    for (let i = m.lines.length - 1; i >= 0; i--) {
      const l: Line = m.lines[i]!
      if (l.inc !== m.incarnation) return undefined
      if (l.type === 'role' || l.type === 'started' || l.type === 'parent-back') return { role: l.role, epoch: l.epoch }
    }
    return undefined
  }

  /** Running members that last said they are the root, newest epoch first. */
  roots(): MemberProcess[] {
    return this.members.filter((m) => m.state === 'running' && this.roleOf(m)?.role === 'host').sort((x, y) => this.roleOf(y)!.epoch - this.roleOf(x)!.epoch)
  }

  withRole(role: string): MemberProcess[] {
    return this.members.filter((m) => m.state === 'running' && this.roleOf(m)?.role === role)
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()))
  }
}
