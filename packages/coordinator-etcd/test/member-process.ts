import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { waitFor as until } from './etcd-server.js'

/** One JSON line a member process printed (its `type`, its `name`, the rest). */
export type Line = { type: string; name: string; [key: string]: unknown }

/**
 * A test member as its own process (SIGSTOP is per process): a script printing JSON lines on
 * stdout and reading commands on stdin (member.mjs, sharded-member.mjs).
 */
export class MemberProcess {
  readonly child: ChildProcess
  readonly lines: Line[] = []
  readonly output: string[] = []

  constructor(
    script: string,
    readonly name: string,
    argv: string[],
  ) {
    this.child = spawn(process.execPath, [script, '--name', name, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] })
    const onLine = (line: string) => {
      this.output.push(line)
      if (line.startsWith('{')) this.lines.push(JSON.parse(line) as Line)
    }
    createInterface({ input: this.child.stdout! }).on('line', onLine)
    createInterface({ input: this.child.stderr! }).on('line', (l) => this.output.push(l))
  }

  of(type: string): Line[] {
    return this.lines.filter((l) => l.type === type)
  }

  send(command: string): void {
    this.child.stdin!.write(`${command}\n`)
  }

  async next(type: string, skip = 0, timeoutMs = 60_000): Promise<Line> {
    await until(
      () => this.of(type).length > skip,
      `${this.name}: a "${type}" line`,
      timeoutMs,
      () => this.output.slice(-30).join('\n'),
    )
    return this.of(type)[skip]!
  }

  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig)
  }

  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = new Promise((resolve) => this.child.once('exit', resolve))
    this.child.kill('SIGCONT')
    this.child.kill('SIGKILL')
    await exited
  }

  /**
   * Kills them all. ZINC_DEBUG_DIR=<dir> (with ZINC_LOG=info for the endpoints' logs) keeps
   * every member's output there.
   */
  static async killAll(members: MemberProcess[]): Promise<void> {
    await Promise.all(members.map((m) => m.kill()))
    const dir = process.env.ZINC_DEBUG_DIR
    if (dir) for (const m of members) writeFileSync(join(dir, `${m.name}.log`), m.output.join('\n'))
  }
}
