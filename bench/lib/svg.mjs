// A hand-written SVG chart: latency distributions (CDFs on a log axis), throughput bars, and
// latency / root CPU against fan-out and depth.
const W = 520,
  H = 300,
  PAD = { l: 62, r: 16, t: 34, b: 46 }
const COLORS = { zinc: '#d9480f', raw: '#1c7ed6', pingpong: '#2f9e44', keyed: '#e8590c', flat: '#868e96' }

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
const num = (v) => (Number.isFinite(v) ? v : 0)
function fmtTick(v) {
  if (v >= 1e6) return `${+(v / 1e6).toFixed(1)}M`
  if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`
  if (v >= 100) return `${Math.round(v)}`
  return `${+v.toFixed(2)}`
}

function frame(x, y, title, body) {
  return `<g transform="translate(${x},${y})"><rect width="${W}" height="${H}" fill="#fff" stroke="#dee2e6"/><text x="${W / 2}" y="20" text-anchor="middle" font-weight="600">${esc(title)}</text>${body}</g>`
}

function legend(items, { bottom = false } = {}) {
  // Laid out by label length, wrapping to a new row rather than running off the panel; a
  // dashed item gets a dashed line swatch. `bottom`: above the x axis, right-aligned.
  const maxW = W - PAD.l - PAD.r - 16
  const rows = [[]]
  let x = 0
  for (const [label, color, dashed] of items) {
    const w = 30 + String(label).length * 6.5
    if (x > 0 && x + w > maxW) {
      rows.push([])
      x = 0
    }
    rows[rows.length - 1].push({ label, color, dashed, x, w })
    x += w
  }
  let out = ''
  rows.forEach((row, r) => {
    const rowW = row.reduce((n, it) => n + it.w, 0)
    const x0 = bottom ? W - PAD.r - 8 - rowW : PAD.l + 8
    const y = bottom ? H - PAD.b - 16 - (rows.length - 1 - r) * 15 : PAD.t + 4 + r * 15
    for (const it of row) {
      const sw =
        it.dashed === undefined
          ? `<rect width="12" height="12" fill="${it.color}"/>`
          : `<line x1="0" y1="6" x2="20" y2="6" stroke="${it.color}" stroke-width="2.5" ${it.dashed ? 'stroke-dasharray="5,3"' : ''}/>`
      out += `<g transform="translate(${(x0 + it.x).toFixed(1)},${y})">${bottom ? `<rect x="-3" y="-2" width="${it.w.toFixed(1)}" height="16" fill="#fff" fill-opacity="0.85"/>` : ''}${sw}<text x="${it.dashed === undefined ? 16 : 24}" y="10" font-size="11">${esc(it.label)}</text></g>`
    }
  })
  return `<g>${out}</g>`
}

function axes(xTicks, yTicks, xLabel, yLabel) {
  const iw = W - PAD.l - PAD.r,
    ih = H - PAD.t - PAD.b
  let s = `<line x1="${PAD.l}" y1="${PAD.t + ih}" x2="${PAD.l + iw}" y2="${PAD.t + ih}" stroke="#495057"/><line x1="${PAD.l}" y1="${PAD.t}" x2="${PAD.l}" y2="${PAD.t + ih}" stroke="#495057"/>`
  for (const [px, label] of xTicks)
    s += `<line x1="${px}" y1="${PAD.t + ih}" x2="${px}" y2="${PAD.t + ih + 4}" stroke="#495057"/><text x="${px}" y="${PAD.t + ih + 16}" text-anchor="middle" font-size="10">${esc(label)}</text>`
  for (const [py, label] of yTicks)
    s += `<line x1="${PAD.l - 4}" y1="${py}" x2="${PAD.l + iw}" y2="${py}" stroke="#f1f3f5"/><text x="${PAD.l - 6}" y="${py + 3}" text-anchor="end" font-size="10">${esc(label)}</text>`
  s += `<text x="${PAD.l + iw / 2}" y="${H - 8}" text-anchor="middle" font-size="11">${esc(xLabel)}</text>`
  s += `<text transform="translate(14,${PAD.t + ih / 2}) rotate(-90)" text-anchor="middle" font-size="11">${esc(yLabel)}</text>`
  return s
}

function empty(msg) {
  return `<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#868e96">${esc(msg)}</text>`
}

/** CDFs of several sample sets on a log10 x axis. */
function cdfPanel(sets) {
  const all = sets.flatMap(([, , s]) => s).filter((v) => v > 0)
  if (all.length === 0) return empty('no latency data')
  const lo = Math.floor(Math.log10(Math.min(...all))),
    hi = Math.ceil(Math.log10(Math.max(...all)))
  const iw = W - PAD.l - PAD.r,
    ih = H - PAD.t - PAD.b
  const px = (v) => PAD.l + ((Math.log10(v) - lo) / Math.max(1, hi - lo)) * iw
  const py = (f) => PAD.t + ih - f * ih
  const xTicks = []
  for (let e = lo; e <= hi; e++) xTicks.push([px(10 ** e), fmtTick(10 ** e)])
  const yTicks = [0, 0.25, 0.5, 0.75, 0.9, 1].map((f) => [py(f), f === 0.5 ? 'p50' : `${f}`])
  let s = axes(xTicks, yTicks, 'latency (µs, log scale)', 'fraction ≤ x')
  for (const [, color, samples] of sets) {
    const v = samples.filter((x) => x > 0).sort((a, b) => a - b)
    if (v.length === 0) continue
    const step = Math.max(1, Math.floor(v.length / 400))
    const pts = []
    for (let i = 0; i < v.length; i += step) pts.push(`${px(v[i]).toFixed(1)},${py((i + 1) / v.length).toFixed(1)}`)
    pts.push(`${px(v[v.length - 1]).toFixed(1)},${py(1).toFixed(1)}`)
    s += `<polyline fill="none" stroke="${color}" stroke-width="1.8" points="${pts.join(' ')}"/>`
  }
  s += `<line x1="${PAD.l}" y1="${py(0.99).toFixed(1)}" x2="${W - PAD.r}" y2="${py(0.99).toFixed(1)}" stroke="#adb5bd" stroke-dasharray="2,3"/><text x="${W - PAD.r - 2}" y="${(py(0.99) + 11).toFixed(1)}" text-anchor="end" font-size="10" fill="#868e96">p99</text>`
  return (
    s +
    legend(
      sets.map(([l, c]) => [l, c, false]),
      { bottom: true },
    )
  )
}

/** Grouped bars: groups = [{ label, bars: [[name, value, color]] }]. */
function barPanel(groups, yLabel) {
  const vals = groups.flatMap((g) => g.bars.map((b) => num(b[1])))
  if (vals.length === 0) return empty('no throughput data')
  const max = Math.max(1, ...vals) * 1.1
  const iw = W - PAD.l - PAD.r,
    ih = H - PAD.t - PAD.b
  const py = (v) => PAD.t + ih - (num(v) / max) * ih
  const gw = iw / groups.length
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => [py(max * f), fmtTick(max * f)])
  let s = axes(
    groups.map((g, i) => [PAD.l + gw * (i + 0.5), g.label]),
    yTicks,
    '',
    yLabel,
  )
  groups.forEach((g, i) => {
    const bw = (gw * 0.7) / g.bars.length
    g.bars.forEach(([name, v, color], j) => {
      const x = PAD.l + gw * i + gw * 0.15 + j * bw
      s += `<rect x="${x.toFixed(1)}" y="${py(v).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${(PAD.t + ih - py(v)).toFixed(1)}" fill="${color}"><title>${esc(`${g.label} ${name}: ${fmtTick(num(v))}`)}</title></rect>`
      s += `<text x="${(x + bw / 2).toFixed(1)}" y="${(py(v) - 3).toFixed(1)}" text-anchor="middle" font-size="9">${fmtTick(num(v))}</text>`
    })
  })
  const names = [...new Map(groups.flatMap((g) => g.bars.map((b) => [b[0], b[2]])))]
  return s + legend(names)
}

/** Lines over categorical x: series = [[label, color, [{x, y}], dashed]]. */
function linePanel(series, xLabel, yLabel, { log = false } = {}) {
  const xs = [...new Set(series.flatMap(([, , pts]) => pts.map((p) => p.x)))]
  const ys = series.flatMap(([, , pts]) => pts.map((p) => p.y)).filter((v) => Number.isFinite(v) && v > 0)
  if (xs.length === 0 || ys.length === 0) return empty('no data')
  const iw = W - PAD.l - PAD.r,
    ih = H - PAD.t - PAD.b
  const px = (x) => PAD.l + ((xs.indexOf(x) + 0.5) / xs.length) * iw
  let py, yTicks
  if (log) {
    const lo = Math.floor(Math.log10(Math.min(...ys))),
      hi = Math.ceil(Math.log10(Math.max(...ys)))
    py = (v) => PAD.t + ih - ((Math.log10(Math.max(v, 10 ** lo)) - lo) / Math.max(1, hi - lo)) * ih
    yTicks = []
    for (let e = lo; e <= hi; e++) yTicks.push([py(10 ** e), fmtTick(10 ** e)])
  } else {
    const max = Math.max(...ys) * 1.1
    py = (v) => PAD.t + ih - (v / max) * ih
    yTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => [py(max * f), fmtTick(max * f)])
  }
  let s = axes(
    xs.map((x) => [px(x), String(x)]),
    yTicks,
    xLabel,
    yLabel,
  )
  for (const [, color, pts, dashed] of series) {
    const p = pts.filter((q) => Number.isFinite(q.y) && q.y > 0)
    s += `<polyline fill="none" stroke="${color}" stroke-width="2" ${dashed ? 'stroke-dasharray="5,3"' : ''} points="${p.map((q) => `${px(q.x).toFixed(1)},${py(q.y).toFixed(1)}`).join(' ')}"/>`
    for (const q of p) s += `<circle cx="${px(q.x).toFixed(1)}" cy="${py(q.y).toFixed(1)}" r="3" fill="${color}"><title>${esc(`${q.x}: ${fmtTick(q.y)}`)}</title></circle>`
  }
  return s + legend(series.map(([l, c, , dashed]) => [l, c, !!dashed]))
}

export function renderSvg(result) {
  const sc = result.scenarios
  const panels = []
  const dist = sc.latency?.data?.distributions
  panels.push([
    'Latency A → root → B at 1,000/s (CDF)',
    dist
      ? cdfPanel([
          ['Zinc', COLORS.zinc, dist.zinc],
          ['raw forwarder', COLORS.raw, dist.raw],
          ['raw ping-pong RTT', COLORS.pingpong, dist.pingpong],
        ])
      : empty('latency not run'),
  ])
  const groups = []
  const med = (a, k) => {
    const v = a
      .map((x) => x[k])
      .filter(Number.isFinite)
      .sort((p, q) => p - q)
    return v.length === 0 ? NaN : v.length % 2 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2
  }
  const tp = sc.throughput?.data
  if (tp?.zinc?.length) {
    groups.push({
      label: 'per subscriber (1 KB)',
      bars: [
        ['Zinc', med(tp.zinc, 'perSub'), COLORS.zinc],
        ['raw', med(tp.raw, 'perSub'), COLORS.raw],
      ],
    })
  }
  const wd = sc.wide?.data
  if (wd?.flat?.length) {
    groups.push({
      label: 'root, 10k-shape doc',
      bars: [
        ['Zinc', med(wd.keyed, 'rootRate'), COLORS.zinc],
        ['raw', med(wd.raw, 'rootRate'), COLORS.raw],
        ['Zinc flat layout', med(wd.flat, 'rootRate'), COLORS.flat],
      ],
    })
  }
  panels.push(['Throughput (fragments/s)', groups.length ? barPanel(groups, 'fragments / s') : empty('throughput not run')])
  for (const [key, label] of [
    ['fanout', 'subscribers'],
    ['depth', 'tree depth'],
  ]) {
    const s = sc[key]?.data?.series
    panels.push([
      `End-to-end latency and root CPU vs ${label}`,
      s
        ? linePanel(
            [
              ['Zinc p50', COLORS.zinc, s.zinc.map((p) => ({ x: p.x, y: p.p50 }))],
              ['raw p50', COLORS.raw, s.raw.map((p) => ({ x: p.x, y: p.p50 }))],
              ['Zinc p99', COLORS.zinc, s.zinc.map((p) => ({ x: p.x, y: p.p99 })), true],
              ['raw p99', COLORS.raw, s.raw.map((p) => ({ x: p.x, y: p.p99 })), true],
            ],
            label,
            'µs (log)',
            { log: true },
          ) +
          `<text x="${PAD.l + 8}" y="${PAD.t + 30}" font-size="10" fill="#495057">root CPU (% core) Zinc / raw: ${s.zinc.map((p, i) => `${p.x}: ${num(p.rootCpu).toFixed(0)}/${num(s.raw[i]?.rootCpu).toFixed(0)}`).join(', ')}</text>`
        : empty(`${key} not run`),
    ])
  }
  const fo = sc.failover?.data
  const foGroups = []
  for (const [label, runs] of Object.entries(fo ?? {})) {
    if (!Array.isArray(runs)) continue
    const ok = runs
      .filter((r) => r.ok)
      .map((r) => r.syncedMs)
      .sort((a, b) => a - b)
    if (ok.length === 0) continue
    const target = label.startsWith('fast') ? 1000 : 2500
    foGroups.push({
      label: `${label.split(':')[0]} (n=${runs.length})`,
      bars: [
        ['median', ok[ok.length >> 1], COLORS.zinc],
        ['worst', ok[ok.length - 1], '#a61e4d'],
        ['target', target, '#adb5bd'],
      ],
    })
  }
  panels.push(['Failover: SIGKILL root → all survivors synced (ms)', foGroups.length ? barPanel(foGroups, 'ms') : empty('failover not run')])
  const cols = 2
  const rows = Math.ceil(panels.length / cols)
  const m = result.machine
  const totalW = cols * W + (cols + 1) * 10,
    totalH = rows * H + (rows + 1) * 10 + 30
  const body = panels.map(([title, content], i) => frame(10 + (i % cols) * (W + 10), 40 + Math.floor(i / cols) * (H + 10), title, content)).join('\n')
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${totalW}" height="${totalH}" viewBox="0 0 ${totalW} ${totalH}" font-family="system-ui, sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#f8f9fa"/>
<text x="10" y="24" font-size="14" font-weight="600">${esc(`Zinc vs raw zeromq.js — ${result.smoke ? 'SMOKE (tiny sizes)' : 'full run'} — ${m.cores} × ${m.cpu}, Node ${m.node}, ${m.date.slice(0, 10)}`)}</text>
${body}
</svg>
`
}
