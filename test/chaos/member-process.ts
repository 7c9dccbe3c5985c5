/**
 * The harness's handle on one chaos member: its fixed ports and data directory, its current
 * process (restarted in place with the same command line and a higher incarnation), every
 * line it printed across incarnations, and SIGKILL / SIGSTOP / SIGCONT.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'

/** A JSON line a member printed (see member.ts for the types). */
export type Line = { type: string; name: string; inc: number; t: number } & Record<string, any>

export type MemberState = 'running' | 'paused' | 'dead'

/** The command-line options every chaos member takes alike (member.ts, sharded-member.ts): timing, log level, and etcd when coordinated. */
export function commonArgv(options: { heartbeatMs: number; peerTimeoutMs: number; logLevel: string; etcd?: { endpoint: string; prefix: string; leaseTtlMs: number } | undefined }): string[] {
  const { etcd } = options
  return [
    ...(etcd ? ['--etcd', etcd.endpoint, '--prefix', etcd.prefix, '--ttl', String(etcd.leaseTtlMs)] : []),
    '--heartbeat',
    String(options.heartbeatMs),
    '--peer-timeout',
    String(options.peerTimeoutMs),
    '--log',
    options.logLevel,
  ]
}

export interface MemberSpec {
  name: string
  /** Script built from member.ts. */
  script: string
  /** Arguments that stay the same across restarts (ports, data directory, join list, writing). */
  argv: string[]
}

/**
 * Every member process alive, SIGKILLed if the harness exits without stopping them (a test
 * timeout, an interrupted run): a paused member would otherwise stay stopped forever, and a
 * running one holds its ports until it notices its stdin closed.
 */
const alive = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of alive) child.kill('SIGKILL')
})

export class MemberProcess {
  readonly lines: Line[] = []
  /** Everything printed, stdout and stderr, prefixed by incarnation: for logs on failure. */
  readonly output: string[] = []
  incarnation = -1
  state: MemberState = 'dead'
  #child: ChildProcess | undefined
  readonly #waiters = new Set<() => void>()

  constructor(readonly spec: MemberSpec) {}

  get name(): string {
    return this.spec.name
  }

  /** The last line of `type` this incarnation printed. */
  last(type: string): Line | undefined {
    for (let i = this.lines.length - 1; i >= 0; i--) {
      const line = this.lines[i]!
      if (line.inc !== this.incarnation) return undefined
      if (line.type === type) return line
    }
    return undefined
  }

  /** Starts the next incarnation with the same command line. */
  start(): void {
    if (this.state !== 'dead') throw new Error(`${this.name} is ${this.state}, not dead: cannot start it`)
    this.incarnation++
    const inc = this.incarnation
    const child = spawn(process.execPath, [this.spec.script, '--name', this.name, '--incarnation', String(inc), ...this.spec.argv], {
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    this.#child = child
    this.state = 'running'
    alive.add(child)
    createInterface({ input: child.stdout! }).on('line', (text) => {
      this.output.push(`${inc} ${text}`)
      if (text.startsWith('{')) {
        try {
          this.lines.push(JSON.parse(text) as Line)
        } catch {
          // Not one of ours.
        }
      }
      this.#wake()
    })
    createInterface({ input: child.stderr! }).on('line', (text) => this.output.push(`${inc} ! ${text}`))
    child.stdin!.on('error', () => {}) // it may be gone when we write
    child.on('exit', (code, signal) => {
      alive.delete(child)
      this.output.push(`${inc} exited ${code ?? signal}`)
      if (this.#child === child) this.state = 'dead'
      this.#wake()
    })
  }

  /** SIGKILL; resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.#child
    if (!child || this.state === 'dead') return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
    this.state = 'dead'
  }

  pause(): void {
    if (this.state !== 'running') return
    this.#child!.kill('SIGSTOP')
    this.state = 'paused'
  }

  resume(): void {
    if (this.state !== 'paused') return
    this.#child!.kill('SIGCONT')
    this.state = 'running'
  }

  send(command: string): void {
    if (this.state !== 'dead') this.#child!.stdin!.write(`${command}\n`)
  }

  /** Sends `command` and waits for the next line of `type` from this incarnation (undefined after `timeoutMs`). */
  ask(command: string, type: string, timeoutMs: number): Promise<Line | undefined> {
    const from = this.lines.length
    const inc = this.incarnation
    return new Promise((resolve) => {
      const done = (line: Line | undefined) => {
        clearTimeout(timer)
        this.#waiters.delete(check)
        resolve(line)
      }
      const check = () => {
        if (this.incarnation !== inc || this.state === 'dead') return done(undefined)
        for (let i = from; i < this.lines.length; i++) if (this.lines[i]!.type === type) return done(this.lines[i])
      }
      const timer = setTimeout(() => done(undefined), timeoutMs)
      this.#waiters.add(check)
      this.send(command)
    })
  }

  /** Waits until a line satisfies `predicate` (undefined after `timeoutMs`). */
  until(predicate: (line: Line) => boolean, timeoutMs: number): Promise<Line | undefined> {
    return new Promise((resolve) => {
      let seen = 0
      const done = (line: Line | undefined) => {
        clearTimeout(timer)
        this.#waiters.delete(check)
        resolve(line)
      }
      const check = () => {
        for (; seen < this.lines.length; seen++) if (predicate(this.lines[seen]!)) return done(this.lines[seen])
      }
      const timer = setTimeout(() => done(undefined), timeoutMs)
      this.#waiters.add(check)
      check()
    })
  }

  /** Waits until the current incarnation printed `opened` (its document is open); throws with its last output after `timeoutMs`. */
  async opened(timeoutMs: number): Promise<void> {
    const inc = this.incarnation
    const line = await this.until((l) => l.inc === inc && l.type === 'opened', timeoutMs)
    if (!line) throw new Error(`${this.name} (incarnation ${inc}) did not open within ${timeoutMs} ms. Output:\n${this.output.slice(-30).join('\n')}`)
  }

  /** Ends whatever runs: continue a paused process so it can die, then SIGKILL. */
  async stop(): Promise<void> {
    if (this.state === 'paused') this.resume()
    await this.kill()
  }

  #wake(): void {
    for (const check of [...this.#waiters]) check()
  }
}
