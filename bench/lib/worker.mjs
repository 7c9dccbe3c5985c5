// The child side of lib/proc.mjs: parse args, run init, answer commands.
export function nowUs() {
  return Number(process.hrtime.bigint() / 1000n) // CLOCK_MONOTONIC: comparable across processes on one host
}

export function args() {
  return JSON.parse(process.argv[2] ?? '{}')
}

/**
 * serve(init, handlers): init() returns the info sent with `ready`; each handler gets the
 * command's args. `stop` runs handlers.stop (if any) and exits.
 */
export async function serve(init, handlers) {
  process.on('disconnect', () => process.exit(0)) // the parent is gone
  process.on('unhandledRejection', (e) => {
    process.stderr.write(`[worker ${process.pid}] unhandled rejection: ${e?.stack ?? e}\n`)
  })
  let info
  try {
    info = await init()
  } catch (error) {
    process.send({ type: 'fatal', error: String(error?.stack ?? error) })
    setTimeout(() => process.exit(1), 50)
    return
  }
  process.on('message', async (m) => {
    const { id, cmd, args: a } = m
    if (cmd === 'stop') {
      const force = setTimeout(() => process.exit(0), 3000)
      force.unref?.()
      try {
        await handlers.stop?.()
      } catch {}
      process.send({ id, result: true }, () => process.exit(0))
      return
    }
    const h = handlers[cmd]
    if (!h) return process.send({ id, error: `unknown command ${cmd}` })
    try {
      const result = await h(a ?? {})
      process.send({ id, result: result ?? null })
    } catch (error) {
      process.send({ id, error: String(error?.stack ?? error) })
    }
  })
  process.send({ type: 'ready', info: info ?? {} })
}

export function cpuMark() {
  const c = process.cpuUsage()
  return { cpuUs: c.user + c.system, t: nowUs() }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
