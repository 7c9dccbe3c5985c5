/**
 * The launcher's side of a member process (`member.js`): spawn it, await its JSON lines, send
 * it commands, stop it. Readable lines are echoed with the member's name (unless `echo` is off).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export type Line = { type: string; name: string } & Record<string, any>

export const MEMBER_SCRIPT = fileURLToPath(new URL('./member.js', import.meta.url))

export class Member {
  readonly child: ChildProcess
  readonly lines: Line[] = []
  readonly #waiters = new Set<() => void>()
  /** Resolves with the `ready` line; `addresses` is set by then. */
  readonly ready: Promise<Line>
  addresses: unknown

  constructor(
    readonly name: string,
    argv: string[],
    { echo = true } = {},
  ) {
    this.child = spawn(process.execPath, [MEMBER_SCRIPT, '--name', name, ...argv], { stdio: ['pipe', 'pipe', 'inherit'] })
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) {
        if (echo) console.log(`  ${line}`)
        return
      }
      this.lines.push(JSON.parse(line) as Line)
      this.#wake()
    })
    this.child.stdin!.on('error', () => {}) // it may be gone when we write
    this.child.on('exit', () => this.#wake())
    this.ready = this.next('ready').then((line) => {
      this.addresses = line.addresses
      return line
    })
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null
  }

  /** The `skip`-th JSON line of `type`; rejects if the process exits first. */
  next(type: string, skip = 0): Promise<Line> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.lines.filter((l) => l.type === type)[skip]
        if (found) resolve(found)
        else if (this.exited) reject(new Error(`${this.name} exited before printing "${type}"`))
        else return
        this.#waiters.delete(check)
      }
      this.#waiters.add(check)
      check()
    })
  }

  send(command: string): void {
    if (!this.exited) this.child.stdin!.write(`${command}\n`)
  }

  /** SIGTERM (the member closes its endpoint and transport), then SIGKILL after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.exited) return
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()))
    this.child.kill('SIGTERM')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs)
    await exited
    clearTimeout(timer)
  }

  #wake(): void {
    for (const check of [...this.#waiters]) check()
  }
}
