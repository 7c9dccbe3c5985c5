// (7) Memory per endpoint / per open document / per logged fragment; optional soak (--soak MIN).
import { row, skipRow, spawnWorker, stopAll } from './common.mjs'

export async function memory(ctx) {
  const n = ctx.smoke ? { eps: 10, docs: 20, frags: 1000 } : { eps: 100, docs: 500, frags: 10_000 }
  const size = 100
  const ws = []
  try {
    const w = await spawnWorker('zinc-memory', {}, { execArgv: ['--expose-gc'] })
    ws.push(w)
    ctx.progress(`memory: ${n.eps} Zinc endpoints vs ${n.eps} raw PUSH+SUB pairs`)
    const eps = await w.call('endpoints', { n: n.eps }, 300_000)
    const raw = await w.call('rawEndpoints', { n: n.eps }, 300_000)
    ctx.progress(`memory: ${n.docs} open documents`)
    const docs = await w.call('docs', { n: n.docs }, 300_000)
    ctx.progress(`memory: ${n.frags} logged fragments of ~${size} B`)
    const frags = await w.call('fragments', { n: n.frags, size }, 300_000)
    const rows = [
      row('memory', 'per endpoint (heap+external, incl. its roster entry at the root)', 'bytes', eps.heap, raw.heap, { baselineLabel: 'raw PUSH+SUB pair' }),
      row('memory', 'per endpoint (RSS)', 'bytes', eps.rss, raw.rss, { baselineLabel: 'raw PUSH+SUB pair' }),
      row('memory', 'per open document (client + root replica, heap)', 'bytes', docs.heap, null, { baselineLabel: '' }),
      row('memory', `per logged fragment (${size} B value; root + client log, heap)`, 'bytes', frags.heap, size, { baselineLabel: 'payload bytes' }),
      // The same figure per replica that logs the fragment (two here): what each further replica adds.
      row('memory', `per logged fragment per replica (the figure above ÷ 2)`, 'bytes', frags.heap / 2, size, { baselineLabel: 'payload bytes' }),
    ]
    let soak = null
    if (ctx.soakMin > 0) {
      ctx.progress(`memory: soak of ${ctx.soakMin} min at 100 changes/s`)
      soak = await w.call('soak', { minutes: ctx.soakMin, rate: 100 }, ctx.soakMin * 60_000 + 120_000)
      const first = soak[Math.min(1, soak.length - 1)],
        last = soak[soak.length - 1]
      rows.push(row('memory soak', `heap growth over ${ctx.soakMin} min (after log fills)`, 'bytes', last.heap - first.heap, null, { baselineLabel: '' }))
    } else rows.push(skipRow('memory soak', 'heap stays flat over 10 min', 'opt-in: --soak 10'))
    return { rows, data: { counts: n, eps, raw, docs, frags, soak } }
  } finally {
    await stopAll(ws)
  }
}
