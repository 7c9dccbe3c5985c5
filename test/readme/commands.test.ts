/**
 * Every shell command shown in any README.md runs here, as written, from the repository root
 * (CI runs this after `npm ci` in a fresh clone, the READMEs' install command). Each command has
 * a plan below: run to completion within a time bound, or — for what serves forever — start it,
 * probe it, stop it. A command with no plan fails the test, so a README cannot show a command
 * nobody runs.
 *
 * Two substitutions keep runs independent of the machine: the fixed ports the READMEs show
 * (7000, 7001, …) become free ones, and `.zinc-data/host` a temporary folder.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { commands, readmes, ROOT, type Command } from './extract.js'

type Plan =
  /** Never run here; says why. */
  | { kind: 'skip'; why: string }
  /** Runs to completion (exit 0) within `timeoutMs`; `expect` must match its output. */
  | { kind: 'run'; timeoutMs: number; expect?: RegExp; check?: (output: string) => void | Promise<void> }
  /** Serves until stopped: waits for `ready`, probes, stays up for the rest of its block, then SIGINT. */
  | { kind: 'serve'; ready: RegExp; probe?: (match: RegExpExecArray) => Promise<void>; stopped?: RegExp }
  /** A long job: waits until it has visibly started, then stops it (SIGINT to its process group). */
  | { kind: 'starts'; ready: RegExp; check?: () => void | Promise<void> }

const RESULTS = join(ROOT, 'bench', 'results')
const digest = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex')
let recorded: Record<string, string> = {}
/** The recorded benchmark results are only ever replaced by an explicit full run. */
const resultsUntouched = () => {
  for (const [file, hash] of Object.entries(recorded)) expect(digest(file), `${file} was rewritten`).toBe(hash)
}
const httpOk = async (url: string) => {
  const res = await fetch(url)
  expect(res.status, url).toBe(200)
  return res.text()
}

const PLANS: Record<string, Plan> = {
  // README.md: try it
  'npm ci': { kind: 'skip', why: 'the install command: CI runs it in a fresh clone before npm test, and it would replace node_modules under the running tests' },
  'npm start': {
    kind: 'serve',
    ready: /Zinc board: (http:\/\/\S+)/,
    probe: async (m) => {
      expect(await httpOk(m[1]!.replace(/\/board\/$/, '/'))).toContain('<title>Zinc canvas</title>')
      expect(await httpOk(m[1]!)).toContain('<title>Zinc board</title>')
    },
  },
  'npm test': { kind: 'skip', why: 'this test is part of it' },
  // README.md: use Zinc in an app
  'npm run pack': { kind: 'run', timeoutMs: 120_000, expect: /packs\/zinc-core-0\.1\.0\.tgz[\s\S]*zinc-transport-zmq-0\.1\.0\.tgz/ },
  // README.md and examples/README.md: examples
  'npm run api': { kind: 'run', timeoutMs: 120_000, expect: /chat \{ text: 'hello' \}/ },
  'npm run embed': { kind: 'run', timeoutMs: 120_000, expect: /every replica equal: true/ },
  'npm run validate': { kind: 'run', timeoutMs: 120_000, expect: /bad change: refused by the schema/ },
  'npm run cluster': { kind: 'run', timeoutMs: 120_000 },
  'npm run tree': { kind: 'run', timeoutMs: 120_000 },
  'npm run cluster -- --clients 2': { kind: 'run', timeoutMs: 120_000 },
  'npm run tree -- --changes 5': { kind: 'run', timeoutMs: 120_000 },
  'npm run workers': { kind: 'run', timeoutMs: 120_000, expect: /worker pool: 30 renders of 20 ms done/ },
  // README.md: the zinc command (one session: host, then a relay under it, then tail and stats)
  'npx zinc host --bind tcp://127.0.0.1:7000,7001 --data .zinc-data/host --stats-port 9100': {
    kind: 'serve',
    ready: /^stats: +(http:\/\/\S+)/m,
    probe: async (m) => void expect(JSON.parse(await httpOk(`${m[1]}/stats`)).role).toBe('host'),
    stopped: /"msg":"stopped"/,
  },
  'npx zinc relay --join tcp://127.0.0.1:7000,7001 --bind tcp://127.0.0.1:7100,7101': { kind: 'serve', ready: /^zinc relay \S+ \(relay\)$/m, stopped: /"msg":"stopped"/ },
  'npx zinc tail tcp://127.0.0.1:7001 --count 5': { kind: 'run', timeoutMs: 30_000, expect: /HEARTBEAT/ },
  'npx zinc stats http://127.0.0.1:9100': { kind: 'run', timeoutMs: 30_000, expect: /endpoint .* host .*[\s\S]*sent .*HEARTBEAT/ },
  'npx zinc keygen': { kind: 'run', timeoutMs: 30_000, expect: /public/i },
  // Started, not run through: bench/test/bench-smoke.test.ts runs the same smoke bench (`bench/run.mjs
  // --smoke`) to its end and checks what it writes; a second whole run here cost ~60 s of the suite.
  'npx zinc bench --smoke': { kind: 'starts', ready: /\[bench .*\] smoke run: /, check: resultsUntouched },
  // README.md: API reference (warning-free: every exported symbol is documented, icons work from file://)
  'npm run docs': { kind: 'run', timeoutMs: 300_000, expect: /docs: docs\/api\/index\.html/, check: (out) => void expect(out).not.toMatch(/\[warning\]|\[error\]/) },
  // bench/README.md
  'npm run bench': { kind: 'starts', ready: /\[bench .*\] full run: /, check: resultsUntouched },
  'npm run bench -- --smoke': { kind: 'skip', why: 'bench/test/bench-smoke.test.ts runs exactly this and checks what it writes' },
  'node bench/run.mjs --help': { kind: 'run', timeoutMs: 30_000, expect: /--smoke/ },
  'node bench/summary.mjs': { kind: 'run', timeoutMs: 30_000, expect: /\| scenario \|/ },
  // examples/canvas/README.md
  'PORT=8080 HOST=0.0.0.0 node examples/dist/canvas/server/main.js': { kind: 'serve', ready: /Zinc canvas: (http:\/\/\S+)/, probe: async (m) => void (await httpOk(m[1]!)) },
  'npx tsc -p examples/canvas/web': { kind: 'run', timeoutMs: 120_000 },
  // examples/board/README.md
  'npx tsc -p examples/board/web': { kind: 'run', timeoutMs: 120_000 },
  'npx vitest run --project browser': { kind: 'skip', why: 'the browser project is part of npm test (examples/canvas/test)' },
}

const ports = new Map<string, number>()
let dataDir = ''

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** The command as this test runs it: free ports for the README's fixed ones, a temporary data folder. */
function localize(command: string): string {
  return command.replace(/\b(7000|7001|7100|7101|9100|8080)\b/g, (p) => String(ports.get(p))).replace(/\.zinc-data\/host\b/g, join(dataDir, 'host'))
}

class Run {
  readonly child: ChildProcess
  output = ''
  readonly exited: Promise<number | null>

  static count = 0

  constructor(readonly command: string) {
    // A process group of its own, so stopping it stops npm, node and every worker it started.
    this.child = spawn('sh', ['-c', command], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ZINC_DATA: join(dataDir, `canvas-${++Run.count}`) },
    })
    this.child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()))
    this.child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()))
    this.exited = new Promise((resolve) => this.child.once('close', (code, signal) => resolve(code ?? (signal ? 128 + (signal === 'SIGINT' ? 2 : 15) : null))))
  }

  async waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    let done = false
    void this.exited.then(() => (done = true))
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
      const m = pattern.exec(this.output)
      if (m) return m
      if (done) throw new Error(`\`${this.command}\` exited before printing ${pattern}:\n${this.output.slice(-3000)}`)
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error(`\`${this.command}\` did not print ${pattern} within ${timeoutMs} ms:\n${this.output.slice(-3000)}`)
  }

  async finish(timeoutMs: number): Promise<number | null> {
    const timer = setTimeout(() => this.signal('SIGKILL'), timeoutMs)
    const code = await this.exited
    clearTimeout(timer)
    return code
  }

  signal(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.child.pid!, signal)
    } catch {
      // already gone
    }
  }

  /** SIGINT to the whole group, as Ctrl-C in a terminal; SIGKILL if it does not stop in 15 s. */
  async stop(): Promise<number | null> {
    this.signal('SIGINT')
    return this.finish(15_000)
  }
}

const all: Command[] = readmes().flatMap((r) => commands(r))
const sessions = new Map<string, Command[]>()
for (const c of all) {
  const key = `${c.readme}:${c.block}`
  sessions.set(key, [...(sessions.get(key) ?? []), c])
}

beforeAll(async () => {
  for (const p of ['7000', '7001', '7100', '7101', '9100', '8080']) ports.set(p, await freePort())
  dataDir = await mkdtemp(join(tmpdir(), 'zinc-readme-'))
  recorded = Object.fromEntries(['latest.json', 'latest.md', 'latest.svg'].map((f) => [join(RESULTS, f), digest(join(RESULTS, f))]))
})

afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

describe('README commands', () => {
  it('every command shown in a README has a plan in this test', () => {
    const missing = all.filter((c) => !PLANS[c.command]).map((c) => `${c.readme}:${c.line}: ${c.command}`)
    expect(missing, 'add these commands to PLANS in test/readme/commands.test.ts').toEqual([])
    expect(all.length).toBeGreaterThan(10)
    const shown = new Set(all.map((c) => c.command))
    expect(
      Object.keys(PLANS).filter((c) => !shown.has(c)),
      'plans for commands no README shows any more: remove them',
    ).toEqual([])
  })

  it('the lockfile links every workspace bin where its package.json says (npm ci follows the lockfile)', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { bin?: Record<string, string> }> }
    const { workspaces } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }
    for (const dir of workspaces) {
      const manifest = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as { bin?: Record<string, string> }
      const norm = (b?: Record<string, string>) => Object.fromEntries(Object.entries(b ?? {}).map(([k, v]) => [k, v.replace(/^\.\//, '')]))
      expect(norm(lock.packages[dir]?.bin), `${dir}: run npm install to refresh package-lock.json`).toEqual(norm(manifest.bin))
    }
  })

  for (const [session, list] of sessions) {
    it(`${session}: ${list.map((c) => c.command.split(' ').slice(0, 3).join(' ')).join('; ')}`, { timeout: 900_000 }, async () => {
      const serving: Array<{ run: Run; plan: Extract<Plan, { kind: 'serve' }> }> = []
      try {
        for (const c of list) {
          const plan = PLANS[c.command]
          if (!plan || plan.kind === 'skip') continue
          const run = new Run(localize(c.command))
          if (plan.kind === 'run') {
            const code = await run.finish(plan.timeoutMs)
            expect(code, `\`${c.command}\` (${c.readme}:${c.line}) exited ${code}:\n${run.output.slice(-3000)}`).toBe(0)
            if (plan.expect) expect(run.output, `\`${c.command}\``).toMatch(plan.expect)
            await plan.check?.(run.output)
          } else if (plan.kind === 'serve') {
            const m = await run.waitFor(plan.ready, 120_000)
            await plan.probe?.(m)
            serving.push({ run, plan })
          } else {
            await run.waitFor(plan.ready, 120_000)
            await run.stop()
            await plan.check?.()
          }
        }
      } finally {
        // Stop what serves, newest first (a relay before its host), as a person would with Ctrl-C.
        for (const { run, plan } of serving.reverse()) {
          // npx/npm exit 130 on Ctrl-C whatever their child did: the child's own log says it stopped cleanly.
          const code = await run.stop()
          expect([0, 130], `\`${run.command}\` after SIGINT:\n${run.output.slice(-2000)}`).toContain(code)
          if (plan.stopped) expect(run.output, `\`${run.command}\` after SIGINT`).toMatch(plan.stopped)
        }
      }
    })
  }
})
