import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))

/** A spawned `zinc` process whose output lines are collected and can be waited for. */
export class Zinc {
  readonly proc: ChildProcess
  readonly stdout: string[] = []
  readonly stderr: string[] = []
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  #waiters: Array<() => void> = []
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.proc = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...env } })
    for (const [stream, lines] of [
      [this.proc.stdout!, this.stdout],
      [this.proc.stderr!, this.stderr],
    ] as const) {
      createInterface({ input: stream }).on('line', (line) => {
        lines.push(line)
        this.#notify()
      })
    }
    this.exited = new Promise((resolve) => {
      this.proc.once('close', (code, signal) => {
        this.#exit = { code, signal }
        this.#notify()
        resolve({ code, signal })
      })
    })
  }

  #notify(): void {
    for (const w of [...this.#waiters]) w()
  }

  get running(): boolean {
    return this.#exit === undefined
  }

  /** The first line of `stream` matching `pattern`; rejects (with the output) if the process exits first. */
  waitFor(pattern: RegExp, stream: 'stdout' | 'stderr' = 'stdout', from = 0): Promise<string> {
    const lines = stream === 'stdout' ? this.stdout : this.stderr
    return new Promise((resolve, reject) => {
      const check = () => {
        const line = lines.slice(from).find((l) => pattern.test(l))
        if (line !== undefined) {
          this.#waiters = this.#waiters.filter((w) => w !== check)
          resolve(line)
        } else if (this.#exit) {
          this.#waiters = this.#waiters.filter((w) => w !== check)
          reject(new Error(`zinc exited (${JSON.stringify(this.#exit)}) before printing ${pattern} on ${stream}.\nstdout:\n${this.stdout.join('\n')}\nstderr:\n${this.stderr.join('\n')}`))
        }
      }
      this.#waiters.push(check)
      check()
    })
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.running) this.proc.kill(signal)
  }
}

/** Runs a zinc command to completion. */
export async function runZinc(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const z = new Zinc(args)
  spawned.add(z)
  const { code } = await z.exited
  return { code, stdout: z.stdout.join('\n'), stderr: z.stderr.join('\n') }
}

/** Every process started by the tests, so afterEach can kill whatever is left. */
export const spawned = new Set<Zinc>()

export function zinc(args: string[]): Zinc {
  const z = new Zinc(args)
  spawned.add(z)
  return z
}

export async function killAll(): Promise<void> {
  const left = [...spawned]
  spawned.clear()
  for (const z of left) z.kill('SIGKILL')
  await Promise.all(left.map((z) => z.exited))
}

/** Starts `zinc host` on fresh ports and reads the addresses it prints. */
export async function startHost(extra: string[] = []): Promise<{ host: Zinc; inbound: string; outbound: string; stats: string }> {
  const host = zinc(['host', '--bind', 'tcp://127.0.0.1:*,tcp://127.0.0.1:*', '--stats-port', '0', '--log-format', 'json', ...extra])
  const value = async (label: string) => (await host.waitFor(new RegExp(`^${label}:\\s+\\S+`))).split(/\s+/)[1]!
  const [inbound, outbound, stats] = await Promise.all([value('inbound'), value('outbound'), value('stats')])
  return { host, inbound, outbound, stats }
}
