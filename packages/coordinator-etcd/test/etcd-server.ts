import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll } from 'vitest'

const ENSURE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'scripts', 'ensure-etcd.sh')

/**
 * The etcd binary (installing Debian's etcd-server with scripts/ensure-etcd.sh when it can), or
 * one line saying why there is none and how to get it. Asked once per test file.
 */
export async function findEtcd(): Promise<{ bin: string } | { missing: string }> {
  try {
    const { stdout } = await promisify(execFile)('sh', [ENSURE], { timeout: 600_000, maxBuffer: 64 * 1024 * 1024 })
    const bin = stdout.trim().split('\n').pop()
    if (bin) return { bin }
    return { missing: 'scripts/ensure-etcd.sh printed no etcd path' }
  } catch (error) {
    const e = error as { stderr?: string; message: string }
    const why = (e.stderr || e.message)
      .trim()
      .split('\n')
      .pop()!
      .replace(/^ensure-etcd: /, '')
    return { missing: `etcd is not installed (${why}): run \`sudo sh scripts/ensure-etcd.sh\` (Debian: \`sudo apt-get install etcd-server\`) or set ETCD=/path/to/etcd.` }
  }
}

/** A port free right now on 127.0.0.1 (etcd cannot bind port 0 and report it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port
      server.close(() => resolve(port))
    })
  })
}

/** One etcd member on 127.0.0.1, random ports, a temporary data directory. */
export class EtcdServer {
  #proc: ChildProcess | undefined
  #log = ''

  private constructor(
    readonly bin: string,
    readonly dataDir: string,
    readonly clientPort: number,
    readonly peerPort: number,
    /** Member name and the cluster it belongs to (`name=peerURL,…`); one member alone by default. */
    readonly name = 'zinc-test',
    public initialCluster = '',
  ) {}

  get endpoint(): string {
    return `127.0.0.1:${this.clientPort}`
  }

  get pid(): number | undefined {
    return this.#proc?.pid
  }

  static async start(bin: string): Promise<EtcdServer> {
    const dataDir = await mkdtemp(join(tmpdir(), 'zinc-etcd-'))
    const server = new EtcdServer(bin, dataDir, await freePort(), await freePort())
    await server.run()
    return server
  }

  /** A cluster of `n` members on 127.0.0.1, started together. */
  static async cluster(bin: string, n: number): Promise<EtcdServer[]> {
    const members: EtcdServer[] = []
    for (let i = 0; i < n; i++) members.push(new EtcdServer(bin, await mkdtemp(join(tmpdir(), 'zinc-etcd-')), await freePort(), await freePort(), `zinc-${i}`))
    const initial = members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(',')
    for (const m of members) m.initialCluster = initial
    await Promise.all(members.map((m) => m.run()))
    return members
  }

  /** Starts (or restarts, on the same data and ports) and waits until it serves clients. */
  async run(): Promise<void> {
    const client = `http://127.0.0.1:${this.clientPort}`
    const peer = `http://127.0.0.1:${this.peerPort}`
    const proc = spawn(
      this.bin,
      [
        '--name',
        this.name,
        // The same token for every member of one cluster (derived from its member list).
        '--initial-cluster-token',
        `zinc-${(this.initialCluster || peer).replace(/\D/g, '').slice(-16)}`,
        '--data-dir',
        this.dataDir,
        '--listen-client-urls',
        client,
        '--advertise-client-urls',
        client,
        '--listen-peer-urls',
        peer,
        '--initial-advertise-peer-urls',
        peer,
        '--initial-cluster',
        this.initialCluster || `${this.name}=${peer}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.arch === 'arm64' ? 'arm64' : '' } },
    )
    this.#proc = proc
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        this.#log = (this.#log + chunk.toString()).slice(-20_000)
        if (this.#log.includes('ready to serve client requests')) resolve()
      }
      proc.stdout!.on('data', onData)
      proc.stderr!.on('data', onData)
      proc.once('exit', (code) => reject(new Error(`etcd exited (code ${code}) before serving; its log:\n${this.#log.slice(-3000)}`)))
    })
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`etcd did not serve within 30 s; its log:\n${this.#log.slice(-3000)}`)), 30_000)))
    try {
      await Promise.race([ready, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  /** Stops the process (SIGKILL: an outage, not a clean shutdown). */
  async kill(): Promise<void> {
    const proc = this.#proc
    if (!proc || proc.exitCode !== null) return
    const exited = new Promise((resolve) => proc.once('exit', resolve))
    proc.kill('SIGKILL')
    await exited
    this.#proc = undefined
  }

  async stop(): Promise<void> {
    await this.kill()
    await rm(this.dataDir, { recursive: true, force: true })
  }
}

/**
 * A TCP relay in front of etcd for one member: `cut()` cuts that member off from etcd (every
 * connection dropped, new ones refused) while the rest of the world still reaches etcd.
 */
export class EtcdLink {
  readonly #sockets = new Set<import('node:net').Socket>()
  #cut = false

  private constructor(
    readonly server: import('node:net').Server,
    readonly port: number,
  ) {}

  get endpoint(): string {
    return `127.0.0.1:${this.port}`
  }

  static async to(target: EtcdServer): Promise<EtcdLink> {
    const { connect } = await import('node:net')
    let link: EtcdLink | undefined
    const server = createServer((socket) => {
      if (!link || link.#cut) return void socket.destroy()
      const upstream = connect(target.clientPort, '127.0.0.1')
      for (const s of [socket, upstream]) {
        link.#sockets.add(s)
        s.on('error', () => {})
        s.on('close', () => {
          link!.#sockets.delete(s)
          socket.destroy()
          upstream.destroy()
        })
      }
      socket.pipe(upstream).pipe(socket)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    link = new EtcdLink(server, (server.address() as { port: number }).port)
    return link
  }

  cut(): void {
    this.#cut = true
    for (const s of this.#sockets) s.destroy()
  }

  heal(): void {
    this.#cut = false
  }

  async close(): Promise<void> {
    this.cut()
    await new Promise((resolve) => this.server.close(resolve))
  }
}

/**
 * The etcd of a test file: started in beforeAll (installed first if need be), stopped in
 * afterAll. `skip(ctx)` skips a test, saying how to get etcd, when there is none.
 */
export function etcdFixture(start: (bin: string) => Promise<EtcdServer[]> = async (bin) => [await EtcdServer.start(bin)]) {
  const state: { servers: EtcdServer[]; missing?: string } = { servers: [] }
  beforeAll(async () => {
    const found = await findEtcd()
    if ('missing' in found) {
      state.missing = found.missing
      return void console.warn(`[etcd tests] skipped: ${found.missing}`)
    }
    state.servers = await start(found.bin)
  }, 600_000)
  afterAll(async () => {
    await Promise.all(state.servers.map((s) => s.stop()))
  })
  return {
    get server(): EtcdServer {
      return state.servers[0]!
    },
    get servers(): EtcdServer[] {
      return state.servers
    },
    /** True (and the test skipped with the reason) when etcd is missing. */
    skip(ctx: { skip: (note?: string) => void }): boolean {
      if (state.missing) ctx.skip(state.missing)
      return state.missing !== undefined
    },
  }
}

/** Polls `predicate` (sync or async) until true; fails saying what it waited for. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000, tail: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${tail() ? `\n${tail()}` : ''}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
