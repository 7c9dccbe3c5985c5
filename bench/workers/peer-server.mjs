// The server of one peer system (bench/peers/): a Zinc root, or a Hocuspocus server. Reports CPU.
import { args, cpuMark, serve } from '../lib/worker.mjs'
import { load, shapes } from '../peers/system.mjs'

const a = args()
let server
await serve(
  async () => {
    const { mod, options } = await load(a.system)
    server = await mod.startServer(options)
    return { ...server.info, pid: process.pid }
  },
  {
    async seed({ doc, n = 0 }) {
      const t0 = performance.now()
      await server.seed(doc, shapes(n))
      return { ms: performance.now() - t0 }
    },
    mark: () => cpuMark(),
    stop: () => server?.close(),
  },
)
