// The results table: console text and Markdown (with the machine it ran on).

export function fmt(v, unit) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—'
  const a = Math.abs(v)
  if (unit === 'bytes') return a >= 1024 * 1024 ? `${(v / 1048576).toFixed(2)} MiB` : a >= 1024 ? `${(v / 1024).toFixed(1)} KiB` : `${Math.round(v)} B`
  if (a >= 100_000) return `${(v / 1000).toFixed(0)}k`
  if (a >= 10_000) return `${(v / 1000).toFixed(1)}k`
  if (a >= 100) return v.toFixed(0)
  if (a >= 10) return v.toFixed(1)
  return v.toFixed(2)
}

function targetText(t) {
  if (!t) return ''
  return t.kind === 'ratio' ? `ratio ${t.op} ${t.value}` : `${t.op} ${t.value}`
}

export function rowsOf(result) {
  const out = []
  for (const [name, s] of Object.entries(result.scenarios)) {
    if (s.error) out.push({ scenario: name, metric: 'FAILED', note: s.error })
    for (const r of s.rows ?? []) out.push(r)
  }
  return out
}

function cells(r) {
  if (r.metric === 'FAILED' || r.skipped) return [r.scenario, r.metric, '—', '—', '—', '', r.skipped ? 'skipped' : 'FAILED', r.note ?? '']
  const unit = r.unit ? ` ${r.unit === 'bytes' ? '' : r.unit}` : ''
  return [
    r.scenario,
    r.metric,
    `${fmt(r.zinc, r.unit)}${unit}`,
    r.baseline === null ? '—' : `${fmt(r.baseline, r.unit)}${unit} (${r.baselineLabel})`,
    r.ratio === null || !Number.isFinite(r.ratio) ? '—' : `${r.ratio.toFixed(2)}×`,
    targetText(r.target),
    r.meets === null ? '' : r.meets ? 'yes' : 'MISS',
    r.note ?? '',
  ]
}

const HEAD = ['scenario', 'metric', 'Zinc', 'baseline', 'Zinc ÷ baseline', 'target', 'met', 'note']

export function renderTable(result) {
  const rows = rowsOf(result).map(cells)
  const widths = HEAD.map((h, i) => Math.min(i === 7 ? 60 : 70, Math.max(h.length, ...rows.map((r) => String(r[i]).length))))
  const line = (r) => r.map((c, i) => String(c).slice(0, widths[i]).padEnd(widths[i])).join(' │ ')
  return [line(HEAD), widths.map((w) => '─'.repeat(w)).join('─┼─'), ...rows.map(line)].join('\n')
}

export function renderMarkdown(result) {
  const m = result.machine
  const esc = (s) => String(s).replace(/\|/g, '\\|')
  const lines = [
    `# Zinc benchmark — ${result.smoke ? 'smoke run (tiny sizes, not for comparison)' : 'full run'}`,
    '',
    `Measured ${m.date} on ${m.cores} × ${m.cpu}, ${m.memGiB} GiB, ${m.platform}, Node ${m.node}` +
      `${m.commit ? `, commit ${m.commit}${m.packagesDirty ? ' (+ uncommitted package changes)' : ''}` : ''}; load average at start ${m.loadavg.join(' / ')}.`,
    `Medians of ${result.reps} repetition(s) per figure (fan-out/depth: at most 2); every baseline ran in the same run with the same topology, processes, message size and transport (tcp loopback).`,
    `Total time ${result.seconds.toFixed(0)} s.`,
    '',
    `| ${HEAD.join(' | ')} |`,
    `|${HEAD.map(() => '---').join('|')}|`,
    ...rowsOf(result).map((r) => `| ${cells(r).map(esc).join(' | ')} |`),
    '',
    '![latency distributions, throughput, fan-out and depth](latest.svg)',
    '',
  ]
  return lines.join('\n')
}
