/**
 * Helpers for the ZeroMQ and multi-process tests: endpoints on loopback tcp that are always
 * closed together with their transports, and child processes whose JSON stdout lines can be
 * awaited and that are always killed (SIGTERM, then SIGKILL) after a test.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { expect } from 'vitest'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Endpoint, type EndpointOptions } from '@zinc/core'
import { ZmqTransport, type ZmqTransportOptions } from '@zinc/transport-zmq'
import { Dealer, type Context } from 'zeromq'

export const LOOPBACK = { inbound: 'tcp://127.0.0.1:*', outbound: 'tcp://127.0.0.1:*' } as const

/** Liveness settings for tcp tests: fast enough to fail quickly, slow enough for loaded CI. */
export const ZMQ_FAST = { heartbeatMs: 50, peerTimeoutMs: 2_000, resendMs: 500, joinTimeoutMs: 15_000 } as const

/**
 * A raw zeromq.js socket that talks to an endpoint's inbound as a PUSH: a DEALER (the inbound
 * is a ROUTER) putting an empty delimiter in front of each message, so that whatever frames it
 * sends (even a lone empty one, which alone would look like libzmq's connect notice) arrive as
 * sent. It presents `routingId` when given (a Zinc PUSH presents `z` + its session), else
 * libzmq makes one up.
 */
export class RawPush {
  readonly socket: Dealer

  constructor(options: { routingId?: string; context?: Context } = {}) {
    this.socket = new Dealer({ linger: 0, ...options })
  }

  connect(address: string): this {
    this.socket.connect(address)
    return this
  }

  /** Sends one message of one or more frames, after the delimiter. */
  send(frames: Uint8Array | Uint8Array[]): Promise<void> {
    return this.socket.send([new Uint8Array(0), ...(Array.isArray(frames) ? frames : [frames])])
  }

  close(): void {
    this.socket.close()
  }
}

/** Everything a test made that must be closed: endpoints first, then transports and raw sockets. */
export class Resources {
  readonly #endpoints: Endpoint[] = []
  readonly #closers: Array<() => unknown> = []

  transport(options: ZmqTransportOptions = {}): ZmqTransport {
    const t = new ZmqTransport(options)
    this.#closers.push(() => t.close())
    return t
  }

  /** Starts an endpoint bound on loopback tcp (unless `bind` is given) with a transport of its own. */
  async endpoint(options: Partial<EndpointOptions> & { transportOptions?: ZmqTransportOptions } = {}): Promise<Endpoint> {
    const { transportOptions, ...rest } = options
    const transport = rest.transport ?? this.transport(transportOptions)
    const endpoint = await Endpoint.start({ ...ZMQ_FAST, bind: LOOPBACK, ...rest, transport })
    this.#endpoints.push(endpoint)
    return endpoint
  }

  /** Closes `thing` after the endpoints (a raw zeromq socket, a channel). */
  add(close: () => unknown): void {
    this.#closers.push(close)
  }

  async close(): Promise<void> {
    await Promise.all(this.#endpoints.splice(0).map((e) => e.close()))
    for (const close of this.#closers.splice(0).reverse()) {
      try {
        await close()
      } catch {
        // Already closed.
      }
    }
  }
}

/** A JSON line printed by a cluster example process. */
export type Line = { type: string; name: string } & Record<string, any>

const exampleScript = (name: string) => fileURLToPath(new URL(`../examples/dist/cluster/${name}`, import.meta.url))

/** A node child process running one of the cluster example's scripts. */
export class Proc {
  readonly child: ChildProcess
  readonly lines: Line[] = []
  readonly output: string[] = []
  readonly #waiters = new Set<() => void>()

  constructor(
    script: 'root.js' | 'client.js' | 'main.js',
    argv: string[] = [],
    readonly label: string = script,
  ) {
    this.child = spawn(process.execPath, [exampleScript(script), ...argv], { stdio: ['pipe', 'pipe', 'pipe'] })
    const onLine = (line: string) => {
      this.output.push(line)
      if (line.startsWith('{')) {
        try {
          this.lines.push(JSON.parse(line) as Line)
        } catch {
          // A readable line that happens to start with a brace.
        }
      }
      this.#wake()
    }
    createInterface({ input: this.child.stdout! }).on('line', onLine)
    createInterface({ input: this.child.stderr! }).on('line', (line) => onLine(`[stderr] ${line}`))
    this.child.stdin!.on('error', () => {}) // the process may be gone when we write
    this.child.on('exit', () => this.#wake())
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null
  }

  /** The `skip`-th JSON line of `type`; rejects when the process exits first or after `timeoutMs`. */
  next(type: string, { skip = 0, timeoutMs = 60_000 } = {}): Promise<Line> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`${this.label}: no "${type}" line within ${timeoutMs} ms. Output:\n${this.tail()}`)), timeoutMs)
      const finish = (error?: Error, line?: Line) => {
        clearTimeout(timer)
        this.#waiters.delete(check)
        if (error) reject(error)
        else resolve(line!)
      }
      const check = () => {
        const found = this.lines.filter((l) => l.type === type)[skip]
        if (found) finish(undefined, found)
        else if (this.exited) finish(new Error(`${this.label} exited (${this.child.exitCode ?? this.child.signalCode}) before printing "${type}". Output:\n${this.tail()}`))
      }
      this.#waiters.add(check)
      check()
    })
  }

  /** Resolves with the exit code (or signal) once the process has exited. */
  exit(): Promise<number | string> {
    if (this.exited) return Promise.resolve(this.child.exitCode ?? this.child.signalCode!)
    return new Promise((resolve) => this.child.once('exit', (code, signal) => resolve(code ?? signal!)))
  }

  send(command: string): void {
    if (!this.exited) this.child.stdin!.write(`${command}\n`)
  }

  tail(n = 30): string {
    return this.output.slice(-n).join('\n')
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async kill(graceMs = 3_000): Promise<void> {
    if (this.exited) return
    const exited = this.exit()
    this.child.kill('SIGTERM')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs)
    await exited
    clearTimeout(timer)
  }

  #wake(): void {
    for (const check of [...this.#waiters]) check()
  }
}

/**
 * Every process's `report` line equals the final one: same seq, nothing pending, same state
 * (by hash and by value), no bad frames.
 */
export function expectReplicasEqual(reports: Line[], final: Line): void {
  for (const r of reports) {
    expect(r.seq, r.name).toBe(final.seq)
    expect(r.pending, r.name).toBe(0)
    expect(r.hash, r.name).toBe(final.hash)
    expect(r.state, r.name).toEqual(final.state)
    expect(r.stats.badFrames, r.name).toBe(0)
  }
}
