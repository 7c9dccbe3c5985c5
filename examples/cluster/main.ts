/**
 * A Zinc cluster across processes: a root host and N clients (default 4), each its own `node`
 * process, talking ZeroMQ over loopback tcp. The clients edit one document at the same time;
 * the launcher waits until every replica equals the root's, prints a summary, and stops
 * everything with SIGTERM (each process closes its endpoint and transport and exits).
 *
 *   npm run build && node examples/dist/cluster/main.js [--clients 4] [--changes 20]
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const { values: args } = parseArgs({ options: { clients: { type: 'string', default: '4' }, changes: { type: 'string', default: '20' } } })
const clientCount = Number(args.clients)
const changes = Number(args.changes)
const names = ['ada', 'grace', 'alan', 'edsger', 'barbara', 'ken', 'dennis', 'margaret']
const nameOf = (i: number) => names[i] ?? `client-${i}`

type Line = { type: string; name: string } & Record<string, any>

/** A child process whose JSON lines can be awaited; its other lines are echoed as they come. */
class Proc {
  readonly child: ChildProcess
  readonly #lines: Line[] = []
  readonly #waiters = new Set<() => void>()

  constructor(script: string, argv: string[]) {
    this.child = spawn(process.execPath, [fileURLToPath(new URL(script, import.meta.url)), ...argv], { stdio: ['pipe', 'pipe', 'inherit'] })
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return console.log(`  ${line}`)
      this.#lines.push(JSON.parse(line) as Line)
      this.#waiters.forEach((wake) => wake())
    })
    this.child.on('exit', () => this.#waiters.forEach((wake) => wake()))
  }

  /** Resolves with the first JSON line of `type` (after `skip` earlier ones), or rejects if the process exits first. */
  next(type: string, skip = 0): Promise<Line> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.#lines.filter((l) => l.type === type)[skip]
        if (found) resolve(found)
        else if (this.child.exitCode !== null || this.child.signalCode !== null) reject(new Error(`process exited before printing "${type}"`))
        else return
        this.#waiters.delete(check)
      }
      this.#waiters.add(check)
      check()
    })
  }

  send(command: string): void {
    this.child.stdin!.write(`${command}\n`)
  }

  stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve()
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()))
    this.child.kill('SIGTERM')
    return exited
  }
}

const everyone: Proc[] = []
try {
  console.log(`starting a root and ${clientCount} clients on loopback tcp`)
  const root = new Proc('./root.js', [])
  everyone.push(root)
  const { addresses } = await root.next('ready')

  const clients = Array.from({ length: clientCount }, (_, i) => new Proc('./client.js', ['--join', JSON.stringify(addresses), '--name', nameOf(i), '--changes', String(changes)]))
  everyone.push(...clients)
  await Promise.all(clients.map((c) => c.next('ready')))

  console.log(`all ${clientCount} clients joined; everyone edits at once`)
  const started = Date.now()
  clients.forEach((c) => c.send('go'))
  await Promise.all(clients.map((c) => c.next('synced')))

  // Every change is sequenced by now: the root's seq is final. Wait for every replica to reach it.
  root.send('report')
  const final = await root.next('report')
  clients.forEach((c) => c.send(`report ${final.seq}`))
  const reports = await Promise.all(clients.map((c) => c.next('report')))
  const ms = Date.now() - started

  const converged = reports.every((r) => r.hash === final.hash && r.seq === final.seq)
  const tokens: string[] = final.state.tokens
  const unique = new Set(tokens).size === tokens.length && tokens.length === clientCount * changes
  console.log('')
  console.log(`root: ${tokens.length} tokens, seq ${final.seq}, state ${final.hash}, keys ${JSON.stringify(final.state.keys)}`)
  for (const r of reports) console.log(`${r.name.padEnd(8)} seq ${r.seq}, state ${r.hash} ${r.hash === final.hash ? '= root' : '≠ ROOT'}`)
  console.log(`every replica converged: ${converged}; every token present exactly once: ${unique} (${clientCount * changes} changes in ${ms} ms)`)
  process.exitCode = converged && unique ? 0 : 1
} catch (error) {
  console.error('cluster failed:', error)
  process.exitCode = 1
} finally {
  // SIGTERM: each process closes its endpoint and transport, then exits.
  await Promise.all(everyone.map((p) => p.stop()))
  console.log('every process stopped')
}
