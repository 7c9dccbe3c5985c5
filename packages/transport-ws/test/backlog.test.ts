/**
 * A crowd connecting at once to a busy edge (issue 19): connections the server has not accepted
 * yet wait in the kernel, up to the listen backlog. With Node's default backlog (511) the kernel
 * dropped the rest of a lecture's connections, and each of those tabs tried again only after its
 * TCP retransmission timeout (1 s, then 3 s, 7 s…).
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { afterEach, expect, it } from 'vitest'
import { WsServerTransport } from '../src/index.js'
import { Cleanup } from './helpers.js'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

const CONNECTIONS = 700

/** The kernel's cap on any backlog (Linux); the test needs room for all the connections. */
function somaxconn(): number {
  try {
    return Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'))
  } catch {
    return 0
  }
}

// A child process opens the connections while this process's event loop is blocked (an edge busy
// with other work): none can be accepted meanwhile, so all of them must wait in the backlog.
const CLIENT = `
const net = require('node:net')
const [port, n] = process.argv.slice(1).map(Number)
let connected = 0
const sockets = []
for (let i = 0; i < n; i++) {
  const s = net.connect(port, '127.0.0.1', () => {
    if (++connected === n) done()
  })
  s.on('error', () => {})
  sockets.push(s)
}
// Connects that the kernel dropped would complete only after a retransmission, long after this.
const timer = setTimeout(done, 4000)
function done() {
  clearTimeout(timer)
  process.stdout.write(String(connected))
  for (const s of sockets) s.destroy()
  process.exit(0)
}
`

it.skipIf(somaxconn() < CONNECTIONS)(
  `${CONNECTIONS} connections made while the server cannot accept are held by the kernel, none dropped`,
  async () => {
    const host = cleanup.add(new WsServerTransport(), (t) => t.close())
    const pull = await host.pull('ws://127.0.0.1:*/in')
    const port = new URL(pull.address).port
    const child = spawn(process.execPath, ['-e', CLIENT, port, String(CONNECTIONS)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
    // This process accepts nothing for 6 s (its event loop is blocked); the child reports within 4 s
    // of starting how many of its connections completed.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 6000)
    await exited
    expect(Number(out)).toBe(CONNECTIONS)
  },
  60_000,
)
