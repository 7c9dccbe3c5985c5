/**
 * The logger Zinc writes to: the subset of pino's API it uses, so a pino logger (or any
 * compatible one) can be passed as the `logger` option. Every line carries the endpoint id
 * and role through `child()`.
 */
export interface Logger {
  /** A line at level debug. */
  debug(obj: object, msg?: string): void
  /** A line at level info. */
  info(obj: object, msg?: string): void
  /** A line at level warn. */
  warn(obj: object, msg?: string): void
  /** A line at level error. */
  error(obj: object, msg?: string): void
  /** A logger that adds `bindings` to every line. */
  child(bindings: Record<string, unknown>): Logger
}

/** Discards everything: the default, so embedding Zinc prints nothing unless asked to. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger
  },
}

const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const
/** Levels of `consoleLogger`, least severe first. */
export type LogLevel = keyof typeof LEVELS

/** A small JSON-lines logger to stderr, for examples and the CLI when pino is not wanted. */
export function consoleLogger(level: LogLevel = 'info', bindings: Record<string, unknown> = {}): Logger {
  const min = LEVELS[level]
  const write = (lvl: LogLevel) => (obj: object, msg?: string) => {
    if (LEVELS[lvl] < min) return
    const line = { level: lvl, time: Date.now(), ...bindings, ...serialize(obj), ...(msg ? { msg } : {}) }
    process.stderr.write(JSON.stringify(line) + '\n')
  }
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    child: (more) => consoleLogger(level, { ...bindings, ...more }),
  }
}

function serialize(obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(obj)) out[k] = v instanceof Error ? { name: v.name, message: v.message } : v
  return out
}
