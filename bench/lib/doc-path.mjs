// What the in-process document-layer benchmarks share (scenarios/reader-path.mjs, writer-path.mjs):
// the core build they measure, a ReplicaIO that keeps what replicas send, and an optional
// in-process CPU profile printed as its top functions.
import { writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'

/** This checkout's packages/core/dist/, or ZINC_CORE=<another build's dist/> (before/after). */
const core = process.env.ZINC_CORE ? new URL(`file://${process.env.ZINC_CORE.replace(/\/?$/, '/')}`) : new URL('../../packages/core/dist/', import.meta.url)

/** Imports modules of the measured core build, e.g. loadCore('document/replica.js', 'ids.js'). */
export const loadCore = (...paths) => Promise.all(paths.map((p) => import(new URL(p, core).href)))

/** Number option `--name N` of argv, or `fallback`. */
export const opt = (argv, flag, fallback) => (argv.includes(flag) ? Number(argv[argv.indexOf(flag) + 1]) : fallback)

/**
 * A ReplicaIO for one replica in this process: deferred work waits in `deferred` (run it with
 * `drain`), what it publishes or sends up is pushed to the arrays given.
 */
export async function fakeIO(root, { published, sent } = {}) {
  const [{ emptyStats }, { silentLogger }, { newEndpointId }] = await loadCore('runtime/stats.js', 'logger.js', 'ids.js')
  const deferred = []
  return {
    deferred,
    io: {
      self: newEndpointId(),
      logger: silentLogger,
      stats: emptyStats(),
      storage: undefined,
      epoch: () => 1,
      now: () => Date.now(),
      isRoot: () => root,
      // A leaf, as the peers' clients are (they bind nothing): it can never sequence.
      canSequence: () => root,
      sendUp: (bytes) => sent?.push(bytes),
      publishFragments: (doc, envelopes) => published?.push(...envelopes),
      publishOnDoc() {},
      sendTo() {},
      defer: (fn) => deferred.push(fn),
      maybeSnapshot() {},
    },
  }
}

/** Runs deferred work until none is left. */
export function drain(deferred) {
  while (deferred.length) deferred.shift()()
}

/** With `--profile` in argv: starts the inspector's CPU profiler; call the result's `stop()` at the end. */
export async function profileIf(argv) {
  if (!argv.includes('--profile')) return { stop: async () => {} }
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  return {
    /** Prints the 30 functions with the most self time; writes the profile to `file` if given. */
    async stop(file) {
      const { profile } = await session.post('Profiler.stop')
      if (file) await writeFile(file, JSON.stringify(profile))
      const self = new Map()
      const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
      let total = 0
      for (let i = 0; i < profile.samples.length; i++) {
        const n = nodes.get(profile.samples[i])
        const k = `${n.callFrame.functionName || '(anonymous)'}  ${n.callFrame.url.replace(/.*\/(packages|node_modules)\//, '$1/')}:${n.callFrame.lineNumber + 1}`
        self.set(k, (self.get(k) ?? 0) + profile.timeDeltas[i])
        total += profile.timeDeltas[i]
      }
      for (const [k, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}`)
    },
  }
}
