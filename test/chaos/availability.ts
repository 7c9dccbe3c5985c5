/**
 * Unavailability per fault, from the writers' acknowledgements ([token, madeAt, confirmedAt]).
 * A fault's window runs from its injection to the next fault (the last one's to quiescence).
 *   maxLatencyMs  the longest a change made in the window waited for `confirmed`: how long at
 *                 least one writer could not get a write confirmed;
 *   gapMs         the longest stretch of the window in which no writer had anything confirmed:
 *                 how long the whole tree could not confirm writes;
 *   confirmed     changes made in the window that were confirmed.
 */
import type { Fault } from './nemesis.js'

export interface Ack {
  token: string
  writer: string
  madeAt: number
  confirmedAt: number
}

export interface WindowRow {
  fault: string
  target: string
  from: number
  to: number
  confirmed: number
  p50LatencyMs: number
  maxLatencyMs: number
  slowestWriter: string
  gapMs: number
}

export function availability(acks: Ack[], faults: Fault[], t0: number, end: number): WindowRow[] {
  const rows: WindowRow[] = []
  const first = faults[0]?.at ?? end - t0
  const windows = [
    { fault: 'baseline', target: '-', from: 0, to: first },
    ...faults.map((f, i) => ({
      fault: `#${f.index} ${f.kind}`,
      target: f.target ? `${f.target} (${f.targetRole}, epoch ${f.targetEpoch})` : `- (${f.note})`,
      from: f.at,
      to: faults[i + 1]?.at ?? end - t0,
    })),
  ]
  for (const w of windows) {
    const made = acks.filter((a) => a.madeAt - t0 >= w.from && a.madeAt - t0 < w.to)
    const latencies = made.map((a) => a.confirmedAt - a.madeAt).sort((x, y) => x - y)
    const slowest = made.reduce<Ack | undefined>((s, a) => (!s || a.confirmedAt - a.madeAt > s.confirmedAt - s.madeAt ? a : s), undefined)
    // Confirmations that fell inside the window, to find its longest silence.
    const times = acks
      .map((a) => a.confirmedAt - t0)
      .filter((t) => t >= w.from && t < w.to)
      .sort((x, y) => x - y)
    let gap = 0
    let previous = w.from
    for (const t of [...times, w.to]) {
      gap = Math.max(gap, t - previous)
      previous = t
    }
    rows.push({
      ...w,
      confirmed: made.length,
      p50LatencyMs: latencies[Math.floor(latencies.length / 2)] ?? 0,
      maxLatencyMs: latencies[latencies.length - 1] ?? 0,
      slowestWriter: slowest?.writer ?? '-',
      gapMs: gap,
    })
  }
  return rows
}

export function formatTable(rows: WindowRow[]): string {
  const header = ['window', 'target', 'from s', 'to s', 'confirmed', 'p50 ms', 'max ms', 'slowest', 'no-confirm gap ms']
  const body = rows.map((r) => [
    r.fault,
    r.target,
    (r.from / 1000).toFixed(1),
    (r.to / 1000).toFixed(1),
    String(r.confirmed),
    String(r.p50LatencyMs),
    String(r.maxLatencyMs),
    r.slowestWriter,
    String(r.gapMs),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)))
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n')
}
