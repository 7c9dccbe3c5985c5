#!/usr/bin/env node
// Summarizes V8 .cpuprofile files (from `node bench/run.mjs --profile`): the functions with the
// most self time, and the files (packages/core/dist/…) they live in.
//   node bench/profile-top.mjs bench/results/prof/*.cpuprofile [--top 25] [--skip MS]
import { readFile } from 'node:fs/promises'

const args = process.argv.slice(2)
const topIdx = args.indexOf('--top')
const top = topIdx >= 0 ? Number(args.splice(topIdx, 2)[1]) : 25
// --skip MS: leave out each profile's first MS milliseconds (start-up, module loading).
const skipIdx = args.indexOf('--skip')
const skipUs = skipIdx >= 0 ? Number(args.splice(skipIdx, 2)[1]) * 1000 : 0
const byFn = new Map()
const byFile = new Map()
let total = 0
for (const file of args) {
  const prof = JSON.parse(await readFile(file, 'utf8'))
  const nodes = new Map(prof.nodes.map((n) => [n.id, n]))
  const dt = new Map()
  let at = 0
  for (let i = 0; i < prof.samples.length; i++) {
    at += prof.timeDeltas[i] ?? 0
    if (at >= skipUs) dt.set(prof.samples[i], (dt.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0))
  }
  for (const [id, us] of dt) {
    const n = nodes.get(id)
    const cf = n.callFrame
    const url = (cf.url || '').replace(/^file:\/\//, '').replace(/.*\/(packages|node_modules)\//, '$1/')
    const key = `${cf.functionName || '(anonymous)'}  ${url}${url ? `:${cf.lineNumber + 1}` : ''}`
    byFn.set(key, (byFn.get(key) ?? 0) + us)
    const fileKey = url || `(${cf.functionName})`
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + us)
    total += us
  }
}
const pct = (us) => `${((100 * us) / total).toFixed(1).padStart(5)}%`
console.log(`total sampled ${(total / 1e6).toFixed(2)} s over ${args.length} profile(s)\n\nself time by function:`)
for (const [k, us] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${k}`)
console.log('\nself time by file:')
for (const [k, us] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${k}`)
