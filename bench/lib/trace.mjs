// Opt-in tracing of a bench worker, for investigations (the failover gap, see results/SUMMARY.md):
// with ZINC_BENCH_LOG=<dir>, each worker writes <dir>/<worker>-<pid>.log, JSON lines stamped
// with `t` (µs, CLOCK_MONOTONIC, comparable across processes on one host, as in lib/worker.mjs)
// holding Zinc's own log lines (its `logger` option, at debug) and, when ZINC_BENCH_TRACE=wire,
// the header of every message the endpoint's transport sends or receives (kind, doc, seq,
// clientSeq, epoch; no payload but a REFUSE's reason). Writes are synchronous, so a SIGKILLed
// worker's last lines are in the file. Without the variable nothing changes: no logger, the
// transport as is.
import fs from 'node:fs'
import path from 'node:path'
import { nowUs } from './worker.mjs'

const dir = process.env.ZINC_BENCH_LOG

/** A Zinc `Logger` writing to this worker's log file, or undefined when tracing is off. */
export function benchLogger(worker) {
  if (!dir) return undefined
  fs.mkdirSync(dir, { recursive: true })
  const fd = fs.openSync(path.join(dir, `${worker}-${process.pid}.log`), 'a')
  const make = (bindings) => {
    const write = (level) => (obj, msg) => {
      const line = { t: nowUs(), level, ...bindings, ...plain(obj), ...(msg ? { msg } : {}) }
      fs.writeSync(fd, JSON.stringify(line) + '\n')
    }
    return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error'), child: (more) => make({ ...bindings, ...more }) }
  }
  return make({ pid: process.pid })
}

function plain(obj) {
  const out = {}
  for (const [k, v] of Object.entries(obj ?? {})) out[k] = v instanceof Error ? v.message : v instanceof Uint8Array ? `<${v.byteLength} B>` : v
  return out
}

/** `transport` with every message it carries logged to `logger` (ZINC_BENCH_TRACE=wire), else `transport` itself. */
export async function traced(transport, logger) {
  if (!logger || process.env.ZINC_BENCH_TRACE !== 'wire') return transport
  // A relative import of the built codec: the decoder is not part of @zinc/core's exports.
  const { decodeMessage } = await import('../../packages/core/dist/protocol/codec.js')
  const { kindName, Kind } = await import('../../packages/core/dist/protocol/kinds.js')
  const { RefusalCodec } = await import('../../packages/core/dist/protocol/payloads.js')
  const note = (dir, where, body) => {
    try {
      const m = decodeMessage(body, 1 << 30)
      const reason = m.kind === Kind.REFUSE ? RefusalCodec.decode(m.payload) : undefined
      logger.debug(
        {
          dir,
          where,
          kind: kindName(m.kind),
          origin: m.origin.slice(0, 8),
          sender: m.sender.slice(0, 8),
          doc: m.doc,
          seq: m.seq,
          clientSeq: m.clientSeq,
          epoch: m.epoch,
          ...(reason ? { code: reason.code, reason: reason.reason } : {}),
        },
        'wire',
      )
    } catch (error) {
      logger.debug({ dir, where, error: String(error) }, 'wire (undecodable)')
    }
  }
  const reading = (ch, where) =>
    new Proxy(ch, {
      get(target, key) {
        if (key !== Symbol.asyncIterator) {
          const v = Reflect.get(target, key, target)
          return typeof v === 'function' ? v.bind(target) : v
        }
        return () => {
          const it = target[Symbol.asyncIterator]()
          return {
            async next() {
              const r = await it.next()
              if (!r.done) note('in', where, r.value[r.value.length - 1])
              return r
            },
            return: (v) => it.return?.(v) ?? Promise.resolve({ done: true, value: v }),
          }
        }
      },
    })
  const sending = (ch, where, pub) =>
    new Proxy(ch, {
      get(target, key) {
        const v = Reflect.get(target, key, target)
        if (key === 'send')
          return (...a) => {
            note('out', where, pub ? a[1] : a[0])
            return v.apply(target, a)
          }
        return typeof v === 'function' ? v.bind(target) : v
      },
    })
  return new Proxy(transport, {
    get(target, key) {
      const v = Reflect.get(target, key, target)
      if (key === 'pull') return async (addr, o) => reading(await v.call(target, addr, o), 'pull')
      if (key === 'sub') return async (addr, o) => reading(await v.call(target, addr, o), `sub ${addr}`)
      if (key === 'push') return async (addr, o) => sending(await v.call(target, addr, o), `push ${addr}`, false)
      if (key === 'pub') return async (addr, o) => sending(await v.call(target, addr, o), 'pub', true)
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
}
