// (5) Late join: time for a new endpoint to hold a document of 1/10/50 MB. Raw baseline: the
// same bytes over the same pattern (SUB + PUSH request → PUB reply), no decoding.
import { median, row, spawnWorker, stopAll } from './common.mjs'

const MAX = 256 * 1024 * 1024 // documents above the 16 MiB default need a larger maxMessageBytes

export async function latejoin(ctx) {
  const sizes = ctx.smoke ? [0.2] : [1, 10, 50]
  const reps = ctx.smoke ? 1 : Math.max(ctx.reps, 3)
  const rows = []
  const data = {}
  for (const mb of sizes) {
    const ws = []
    try {
      ctx.progress(`late join: seeding a ${mb} MB document at the root`)
      const root = await spawnWorker('zinc-root', { maxMessageBytes: MAX })
      ws.push(root)
      const seeded = await root.call('open', { doc: 'big', initial: { kind: 'big', mb } }, 300_000)
      const joiner = await spawnWorker('zinc-client', { count: 0, maxMessageBytes: MAX })
      ws.push(joiner)
      const server = await spawnWorker('raw-client', { role: 'snapshot', mb })
      ws.push(server)
      const fetcher = await spawnWorker('raw-client', {})
      ws.push(fetcher)
      const z = [],
        r = []
      for (let rep = 1; rep <= reps; rep++) {
        ctx.progress(`late join: ${mb} MB — zinc joiner, rep ${rep}/${reps}`)
        z.push(await joiner.call('latejoin', { join: root.info.addresses, doc: 'big' }, 300_000))
        ctx.progress(`late join: ${mb} MB — raw fetch, rep ${rep}/${reps}`)
        r.push(await fetcher.call('fetch', { target: server.info.addresses }, 300_000))
      }
      const m = (a, k) => median(a.map((x) => x[k]))
      const name = `late join (${mb} MB document)`
      rows.push(
        row(name, 'join + open → in sync', 'ms', m(z, 'totalMs'), m(r, 'totalMs'), { baselineLabel: 'raw connect + fetch' }),
        row(name, 'open → in sync (after join)', 'ms', m(z, 'openMs'), m(r, 'transferMs'), { baselineLabel: 'raw transfer only' }),
        row(name, 'join (start → welcomed)', 'ms', m(z, 'joinMs'), m(r, 'totalMs') - m(r, 'transferMs'), { baselineLabel: 'raw subscribe ready' }),
      )
      data[mb] = { zinc: z, raw: r, seeded }
    } finally {
      await stopAll(ws)
    }
  }
  return { rows, data }
}
