// Child-process plumbing: workers are forked with an IPC channel and answer RPC-style
// commands ({ id, cmd, args } → { id, result | error }). Every child is killed when the
// parent exits, fails or is interrupted.
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const here = path.dirname(fileURLToPath(import.meta.url))
const children = new Set()

function killAll() {
  for (const child of children) {
    try {
      child.kill('SIGKILL')
    } catch {}
  }
  children.clear()
}
process.on('exit', killAll)
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    killAll()
    process.exit(130)
  })
}

/** Extra node flags for workers of a given name (e.g. --cpu-prof for the root). */
export const workerFlags = new Map()

/**
 * Forks bench/workers/<name>.mjs with `args` and waits for its `ready` message.
 * Returns { info, call(cmd, args, timeoutMs), stop(), pid }.
 */
export async function spawnWorker(name, args = {}, { execArgv = [], readyTimeoutMs = 60_000 } = {}) {
  const file = path.join(here, '..', 'workers', `${name}.mjs`)
  const child = fork(file, [JSON.stringify(args)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [...execArgv, ...(workerFlags.get(name) ?? [])],
    serialization: 'advanced',
  })
  children.add(child)
  const pending = new Map()
  let nextId = 1
  let exited = false
  let readyResolve, readyReject
  const ready = new Promise((res, rej) => ((readyResolve = res), (readyReject = rej)))
  child.on('message', (m) => {
    if (m && m.type === 'ready') return readyResolve(m.info)
    if (m && m.type === 'fatal') return readyReject(new Error(`${name}: ${m.error}`))
    const p = m && pending.get(m.id)
    if (!p) return
    pending.delete(m.id)
    clearTimeout(p.timer)
    if ('error' in m) p.reject(new Error(`${name} ${p.cmd}: ${m.error}`))
    else p.resolve(m.result)
  })
  child.on('exit', (code, signal) => {
    exited = true
    children.delete(child)
    const err = new Error(`worker ${name} (pid ${child.pid}) exited (code ${code}, signal ${signal})`)
    readyReject(err)
    for (const p of pending.values()) {
      clearTimeout(p.timer)
      p.reject(err)
    }
    pending.clear()
  })
  const readyTimer = setTimeout(() => readyReject(new Error(`worker ${name} not ready after ${readyTimeoutMs} ms`)), readyTimeoutMs)
  let info
  try {
    info = await ready
  } catch (error) {
    child.kill('SIGKILL')
    throw error
  } finally {
    clearTimeout(readyTimer)
  }
  const call = (cmd, cargs = {}, timeoutMs = 120_000) =>
    new Promise((resolve, reject) => {
      if (exited) return reject(new Error(`worker ${name} has exited`))
      const id = nextId++
      const timer = setTimeout(() => {
        pending.delete(id)
        reject(new Error(`${name} ${cmd}: no answer after ${timeoutMs} ms`))
      }, timeoutMs)
      pending.set(id, { resolve, reject, timer, cmd })
      child.send({ id, cmd, args: cargs })
    })
  const stop = async () => {
    if (exited) return
    const gone = new Promise((r) => child.once('exit', r))
    try {
      await call('stop', {}, 5000)
    } catch {}
    const t = setTimeout(() => child.kill('SIGKILL'), 3000)
    await gone
    clearTimeout(t)
  }
  const kill = (signal = 'SIGKILL') => {
    const gone = exited ? Promise.resolve() : new Promise((r) => child.once('exit', r))
    child.kill(signal)
    return gone
  }
  return { name, info, call, stop, kill, pid: child.pid, child }
}

/** Stops every worker given (in parallel), never throws. */
export async function stopAll(workers) {
  await Promise.allSettled(workers.filter(Boolean).map((w) => w.stop()))
}
