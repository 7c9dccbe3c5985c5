import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { DocId, EndpointId, StoredFragment } from '@zinc/core'

/** The monorepo root: child processes run there so `@zinc/storage-lmdb` resolves to the build. */
export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..')

const dirs: string[] = []

/** A fresh directory under os.tmpdir(); removed by `removeTempDirs`. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'zinc-lmdb-'))
  dirs.push(dir)
  return dir
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
}

export const DOC = 'doc-1' as DocId
export const ORIGIN = '6f1c2b9e-3a4d-4c5e-8f70-112233445566' as EndpointId

export function frag(seq: number, envelope?: Uint8Array): StoredFragment {
  return { seq, origin: ORIGIN, clientSeq: seq, envelope: envelope ?? new Uint8Array([seq & 0xff, 1, 2, 3]) }
}

export function frags(from: number, to: number, size = 4): StoredFragment[] {
  const out: StoredFragment[] = []
  for (let seq = from; seq <= to; seq++) out.push(frag(seq, new Uint8Array(size).fill(seq & 0xff)))
  return out
}

/** Runs an ES module snippet in a child `node` (optionally through `bash -c` with a prefix such as `ulimit -f N;`). */
export function runNode(code: string, args: string[] = [], shellPrefix?: string): ChildProcess {
  const nodeArgs = ['--input-type=module', '-e', code, '--', ...args]
  if (shellPrefix === undefined) return spawn(process.execPath, nodeArgs, { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
  const quoted = [process.execPath, ...nodeArgs].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
  return spawn('bash', ['-c', `${shellPrefix} exec ${quoted}`], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
}

/** Resolves with the first stdout line matching `pattern`; rejects if the child exits first. */
export function waitForLine(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolveLine, reject) => {
    let buffer = ''
    let stderr = ''
    const onData = (chunk: Buffer): void => {
      buffer += chunk.toString()
      for (const line of buffer.split('\n')) {
        if (pattern.test(line)) {
          cleanup()
          resolveLine(line)
          return
        }
      }
    }
    const onErr = (chunk: Buffer): void => void (stderr += chunk.toString())
    const onExit = (code: number | null, signal: string | null): void => {
      cleanup()
      reject(new Error(`child exited (${code ?? signal}) before printing ${pattern}; stdout: ${buffer}; stderr: ${stderr}`))
    }
    const cleanup = (): void => {
      child.stdout?.off('data', onData)
      child.stderr?.off('data', onErr)
      child.off('exit', onExit)
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onErr)
    child.on('exit', onExit)
  })
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((resolveExit) => child.once('exit', (code) => resolveExit(code)))
}

/** Collects a child's whole stdout and stderr, resolving when it exits. */
export async function output(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (c: Buffer) => void (stdout += c.toString()))
  child.stderr?.on('data', (c: Buffer) => void (stderr += c.toString()))
  const code = await exited(child)
  return { code, stdout, stderr }
}

/** The JSON object a child printed on a line starting with `RESULT `. */
export function result(stdout: string): Record<string, unknown> {
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '))
  if (!line) throw new Error(`child printed no RESULT line: ${stdout}`)
  return JSON.parse(line.slice(7)) as Record<string, unknown>
}
