/**
 * What runs inside every worker thread of a `WorkerPool` (piscina loads this file). It imports
 * the application's handler module on first use (cached per thread), runs one task, and
 * always answers with a `WorkerReply`: a handler that throws is a normal reply, so on the main
 * thread a rejected task can only mean the thread itself died or was terminated.
 *
 * The application's module is never piscina's own `filename`: piscina stops replacing threads
 * that fail while starting, so a module that throws on import would leave a pool with none.
 */
import { parentPort } from 'node:worker_threads'
import { move, transferableSymbol, valueSymbol } from 'piscina'
import type { EndpointId } from '../ids.js'
import type { Logger } from '../logger.js'
import { appMessage } from '../endpoint/app-messages.js'

/** One unit of work for a thread. */
export type WorkerTask =
  /** Imports the module and checks its export is a function (registration). */
  | { op: 'load'; module: string; export: string }
  /** Calls the export with `input` (a `workerFunction`, e.g. a content hook). */
  | { op: 'call'; id: number; module: string; export: string; input: unknown }
  /** Runs the export as a MessageHandler on an application message. */
  | { op: 'message'; id: number; module: string; export: string; endpoint: string; kind: string; origin: string; bytes: Uint8Array; encoding: number }

/**
 * Posted (through piscina's 'message' event) when a task's module is loaded and its handler is
 * about to run: the pool's time limit starts then, not while the task waited for a thread to
 * start (which under load can take longer than a short limit).
 */
export const TASK_STARTED = 'zinc:task-started'

/** A line the handler logged through `context.logger`; replayed into the endpoint's logger. */
export interface LogRecord {
  level: 'debug' | 'info' | 'warn' | 'error'
  obj: Record<string, unknown>
  msg?: string
}

export type WorkerReply = { ok: true; value: unknown; logs: LogRecord[] } | { ok: false; error: { name: string; message: string; stack?: string }; logs: LogRecord[] }

type Fn = (...args: unknown[]) => unknown
const loaded = new Map<string, Promise<Fn>>()

async function load(module: string, name: string): Promise<Fn> {
  const key = `${module}#${name}`
  let fn = loaded.get(key)
  if (!fn) {
    fn = import(module).then((ns: Record<string, unknown>) => {
      const f = ns[name]
      if (typeof f === 'function') return f as Fn
      const exported = Object.keys(ns).filter((k) => typeof ns[k] === 'function')
      throw new TypeError(`it exports no function named "${name}"${exported.length ? ` (its functions: ${exported.join(', ')}; pass export: '<name>')` : ''}`)
    })
    // A failed import is not cached: the next task tries again (the file may have been fixed).
    fn.catch(() => loaded.delete(key))
    loaded.set(key, fn)
  }
  return fn
}

/** Structured clone cannot carry functions or class instances with private state: keep plain data. */
function plain(obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(obj)) {
    out[k] = v instanceof Error ? { name: v.name, message: v.message } : typeof v === 'function' || typeof v === 'symbol' ? String(v) : v
  }
  try {
    return structuredClone(out)
  } catch {
    return JSON.parse(JSON.stringify(out, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))) as Record<string, unknown>
  }
}

function bufferLogger(logs: LogRecord[], bindings: Record<string, unknown> = {}): Logger {
  const write = (level: LogRecord['level']) => (obj: object, msg?: string) => {
    logs.push(msg === undefined ? { level, obj: plain({ ...bindings, ...obj }) } : { level, obj: plain({ ...bindings, ...obj }), msg })
  }
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error'), child: (more) => bufferLogger(logs, { ...bindings, ...more }) }
}

/** The buffers of a result that can move to the main thread instead of being copied. */
function transferablesOf(value: unknown): ArrayBuffer[] {
  if (value instanceof ArrayBuffer) return [value]
  // Only a view over its whole, unshared buffer: moving a larger buffer would hand over bytes
  // that are not the result (and detach them here while something else may still use them).
  if (ArrayBuffer.isView(value) && value.buffer instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === value.buffer.byteLength) return [value.buffer]
  return []
}

/** piscina's way to move a result: an object naming its transferables and its value. */
function reply(r: WorkerReply): unknown {
  const transfer = r.ok ? transferablesOf(r.value) : []
  if (transfer.length === 0) return r
  return move({ [transferableSymbol]: transfer, [valueSymbol]: r } as never)
}

export default async function run(task: WorkerTask): Promise<unknown> {
  const logs: LogRecord[] = []
  try {
    const fn = await load(task.module, task.export)
    if (task.op === 'load') return reply({ ok: true, value: null, logs })
    parentPort?.postMessage({ [TASK_STARTED]: task.id })
    const logger = bufferLogger(logs)
    const value = task.op === 'call' ? await fn(task.input) : await fn(appMessage(task.kind, task.origin as EndpointId, task.bytes, task.encoding), { endpoint: task.endpoint as EndpointId, logger })
    return reply({ ok: true, value, logs })
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error))
    return reply({ ok: false, error: e.stack === undefined ? { name: e.name, message: e.message } : { name: e.name, message: e.message, stack: e.stack }, logs })
  }
}
