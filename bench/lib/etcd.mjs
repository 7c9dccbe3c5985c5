// A throwaway etcd for benchmarks: 127.0.0.1, free ports, a temporary data directory
// (scripts/ensure-etcd.sh installs Debian's etcd-server when it is missing).
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

/** Starts etcd; resolves { endpoint, stop() } once it serves clients. */
export async function startEtcd() {
  const bin = execFileSync('sh', [path.join(root, 'scripts', 'ensure-etcd.sh')], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .pop()
  const dir = mkdtempSync(path.join(tmpdir(), 'zinc-bench-etcd-'))
  const [client, peer] = [await freePort(), await freePort()]
  const proc = spawn(
    bin,
    [
      '--data-dir',
      dir,
      '--listen-client-urls',
      `http://127.0.0.1:${client}`,
      '--advertise-client-urls',
      `http://127.0.0.1:${client}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-cluster',
      `default=http://127.0.0.1:${peer}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let log = ''
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`etcd did not start within 30 s:\n${log.slice(-2000)}`)), 30_000)
    const on = (chunk) => {
      log = (log + chunk).slice(-20_000)
      if (log.includes('ready to serve client requests')) {
        clearTimeout(timer)
        resolve()
      }
    }
    proc.stdout.on('data', on)
    proc.stderr.on('data', on)
    proc.once('exit', (code) => reject(new Error(`etcd exited (${code}):\n${log.slice(-2000)}`)))
  })
  process.on('exit', () => proc.kill('SIGKILL'))
  return {
    endpoint: `127.0.0.1:${client}`,
    stop() {
      proc.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
