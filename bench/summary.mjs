#!/usr/bin/env node
// Prints the headline table of a results file (default bench/results/latest.json) as Markdown,
// for bench/results/SUMMARY.md and the root README:
//   node bench/summary.mjs [results/latest.json]
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { fmt, rowsOf } from './lib/report.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const file = process.argv[2] ?? path.join(here, 'results', 'latest.json')
const result = JSON.parse(await readFile(file, 'utf8'))

// Which rows make the headline: every row with a target, plus a few that explain them.
const EXTRA = [/root CPU per fragment/, /subscriber CPU per fragment/, /^end-to-end p50$/, /^root CPU$/, /^join \+ open → in sync$/, /^per endpoint \(heap/, /^per logged fragment/, /^setup: spawn/]
const pick = (r) => !r.skipped && r.metric !== 'FAILED' && (r.target || EXTRA.some((re) => re.test(r.metric)))
const unit = (r) => (r.unit === 'bytes' ? '' : r.unit ? ` ${r.unit}` : '')
const cell = (v, r) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : `${fmt(v, r.unit)}${unit(r)}`)
const target = (t, r) => (!t ? '' : t.kind === 'ratio' ? `${t.op === '>=' ? '≥' : '≤'} ${t.value}×` : `< ${t.value} ${r.unit}`)

const lines = ['| scenario | metric | Zinc | baseline | ratio | target | met |', '|---|---|---|---|---|---|---|']
for (const r of rowsOf(result)) {
  if (r.metric === 'FAILED') {
    lines.push(`| ${r.scenario} | FAILED | — | — | — | | FAILED |`)
    continue
  }
  if (r.skipped && r.meets === false) {
    lines.push(`| ${r.scenario} | ${r.metric} | — | — | — | | missed (${r.note}) |`)
    continue
  }
  if (!pick(r)) continue
  const base = r.baseline === null ? '—' : `${cell(r.baseline, r)}${r.baselineLabel && r.baselineLabel !== 'target' ? ` (${r.baselineLabel})` : ''}`
  const ratio = r.ratio === null || !Number.isFinite(r.ratio) ? '—' : `${r.ratio.toFixed(2)}×`
  const met = r.meets === null ? '' : r.meets ? 'met' : '**missed**'
  lines.push(`| ${r.scenario} | ${r.metric} | ${cell(r.zinc, r)} | ${r.baselineLabel === 'target' ? '—' : base} | ${r.baselineLabel === 'target' ? '—' : ratio} | ${target(r.target, r)} | ${met} |`)
}
const m = result.machine
console.log(lines.join('\n'))
console.log(
  `\nMachine: ${m.cores} × ${m.cpu}, ${m.memGiB} GiB, ${m.platform}, Node ${m.node}; measured ${m.date.slice(0, 16).replace('T', ' ')} UTC, commit ${m.commit}${m.packagesDirty ? ' (+ uncommitted package changes)' : ''}; load average at start ${m.loadavg.join(' / ')}; medians of ${result.reps} repetitions.`,
)
