import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino'

/**
 * Logging for `zinc host` and `zinc relay`: pino, to stderr (stdout carries the addresses and
 * command output). On a terminal each line is formatted for people by a small destination
 * below (pino-pretty is not a dependency, and a transport thread would be overkill); anywhere
 * else pino's JSON lines go out unchanged, ready for a log shipper.
 *
 * Every line carries `endpoint` (core binds it with `logger.child({ endpoint })`, the CLI binds
 * the same id for its own lines) and `role`, read at each line through pino's `mixin`, so a
 * promotion shows up on the very next line.
 */

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const
export type CliLogLevel = (typeof LOG_LEVELS)[number]
export const LOG_FORMATS = ['auto', 'pretty', 'json'] as const
export type LogFormat = (typeof LOG_FORMATS)[number]

export interface LoggingOptions {
  level: CliLogLevel
  format: LogFormat
  /** The current role, read for every line. */
  role: () => string
  /** How a role that core puts on a line (`role changed`) is shown: `zinc relay` shows 'client' as 'relay'. */
  mapRole?: (role: string) => string
  /** Default: process.stderr. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; fd?: number }
}

const LABELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' }
const COLORS: Record<number, string> = { 10: '90', 20: '90', 30: '32', 40: '33', 50: '31', 60: '35' }
const OMIT = new Set(['level', 'time', 'msg', 'endpoint', 'role', 'pid', 'hostname'])

function fieldValue(value: unknown): string {
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>
    if (typeof o.message === 'string' && (typeof o.type === 'string' || typeof o.name === 'string')) return `${String(o.type ?? o.name)}: ${o.message}`
    return JSON.stringify(value)
  }
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)
  return String(value)
}

/** Formats one pino JSON line for a terminal: `12:00:01.234 INFO  host 1a2b3c4d message key=value`. */
export function formatLogLine(json: string, color = false): string {
  let o: Record<string, unknown>
  try {
    o = JSON.parse(json) as Record<string, unknown>
  } catch {
    return json.endsWith('\n') ? json : json + '\n'
  }
  const level = typeof o.level === 'number' ? o.level : 30
  const d = new Date(typeof o.time === 'number' ? o.time : Date.now())
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  const time = `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`
  const label = LABELS[level] ?? String(level)
  const who = [o.role, typeof o.endpoint === 'string' ? o.endpoint.slice(0, 8) : undefined].filter(Boolean).join(' ')
  const rest = Object.entries(o)
    .filter(([k]) => !OMIT.has(k))
    .map(([k, v]) => `${k}=${fieldValue(v)}`)
  const lvl = color ? `\u001b[${COLORS[level] ?? '0'}m${label}\u001b[0m` : label
  return `${time} ${lvl} ${who ? `[${who}] ` : ''}${String(o.msg ?? '')}${rest.length ? ' ' + rest.join(' ') : ''}\n`
}

/** A pino logger writing to stderr, human lines on a TTY (or `format: 'pretty'`), JSON otherwise. */
export function createLogger(options: LoggingOptions): PinoLogger {
  const stream = options.stream ?? process.stderr
  const pretty = options.format === 'pretty' || (options.format === 'auto' && stream.isTTY === true)
  let destination: DestinationStream
  if (pretty) {
    const color = stream.isTTY === true && !process.env.NO_COLOR
    destination = { write: (line: string) => void stream.write(formatLogLine(line, color)) }
  } else if (stream === process.stderr) {
    // Synchronous, so the last lines before an exit are never lost.
    destination = pino.destination({ dest: 2, sync: true })
  } else {
    destination = { write: (line: string) => void stream.write(line) }
  }
  return pino(
    {
      level: options.level,
      base: undefined,
      mixin: () => ({ role: options.role() }),
      formatters: { log: (o) => (options.mapRole && typeof o.role === 'string' ? { ...o, role: options.mapRole(o.role) } : o) },
      timestamp: pino.stdTimeFunctions.epochTime,
    },
    destination,
  )
}
