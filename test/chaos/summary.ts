/**
 * A many-seed run's summary: which seeds failed on which checks, and unavailability per fault
 * kind over all seeds (median and worst of each window's figures).
 */
import { writeFileSync } from 'node:fs'
import type { ChaosResult } from './run.js'

export interface KindSummary {
  kind: string
  windows: number
  medianMaxLatencyMs: number
  worstMaxLatencyMs: number
  medianGapMs: number
  worstGapMs: number
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0

export function summarize(results: ChaosResult[]): { kinds: KindSummary[]; failed: Array<{ seed: number; checks: string[] }>; text: string } {
  const byKind = new Map<string, Array<{ maxLatencyMs: number; gapMs: number }>>()
  for (const r of results)
    for (const row of r.rows) {
      const kind = row.fault.replace(/^#\d+ /, '')
      byKind.set(kind, [...(byKind.get(kind) ?? []), row])
    }
  const kinds = [...byKind].map(([kind, rows]) => ({
    kind,
    windows: rows.length,
    medianMaxLatencyMs: median(rows.map((r) => r.maxLatencyMs)),
    worstMaxLatencyMs: Math.max(...rows.map((r) => r.maxLatencyMs)),
    medianGapMs: median(rows.map((r) => r.gapMs)),
    worstGapMs: Math.max(...rows.map((r) => r.gapMs)),
  }))
  const failed = results.filter((r) => r.violations.length > 0).map((r) => ({ seed: r.seed, checks: [...new Set(r.violations.map((v) => v.check))] }))
  const lines = [
    `chaos: ${results.length - failed.length} of ${results.length} seeds passed${failed.length ? `; failed: ${failed.map((f) => `${f.seed} (${f.checks.join(', ')})`).join('; ')}` : ''}`,
    'fault kind    windows  median max ms  worst max ms  median gap ms  worst gap ms',
    ...kinds.map(
      (k) =>
        `${k.kind.padEnd(12)}  ${String(k.windows).padStart(7)}  ${String(k.medianMaxLatencyMs).padStart(13)}  ${String(k.worstMaxLatencyMs).padStart(12)}  ${String(k.medianGapMs).padStart(13)}  ${String(k.worstGapMs).padStart(12)}`,
    ),
  ]
  return { kinds, failed, text: lines.join('\n') }
}

export function writeSummary(file: string, results: ChaosResult[]): string {
  const { kinds, failed, text } = summarize(results)
  writeFileSync(file, JSON.stringify({ seeds: results.map((r) => r.seed), failed, unavailabilityByKind: kinds }, null, 2))
  return text
}
