import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// Keeps the harness working: runs every scenario at tiny size, exactly as bench/README.md shows
// (`npm run bench -- --smoke`). Never asserts a time or a ratio.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const SCENARIOS = ['throughput', 'latency', 'wide', 'fanout', 'depth', 'latejoin', 'failover', 'memory', 'intent', 'workers']
/** Where a smoke run writes by default: git-ignored, never the recorded results. */
const out = path.join(root, 'bench', 'results', 'tmp', 'smoke')
const recorded = path.join(root, 'bench', 'results', 'latest.json')
const hash = async (file: string) =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex')

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', 'bench', '--', ...args], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('exit', (code) => resolve({ code, stderr }))
  })
}

describe('bench --smoke', () => {
  it('runs every scenario and writes valid results', { timeout: 240_000 }, async () => {
    const before = await hash(recorded)
    const { code, stderr } = await run(['--smoke'])
    expect(code, stderr.slice(-4000)).toBe(0)
    expect(await hash(recorded), 'a smoke run must not replace bench/results/latest.json').toBe(before)

    const result = JSON.parse(await readFile(path.join(out, 'latest.json'), 'utf8'))
    expect(result.smoke).toBe(true)
    expect(typeof result.machine.cpu).toBe('string')
    for (const name of SCENARIOS) {
      const scenario = result.scenarios[name]
      expect(scenario, `scenario ${name}`).toBeDefined()
      expect(scenario.error, `scenario ${name}`).toBeUndefined()
      expect(scenario.rows.length, `scenario ${name}`).toBeGreaterThan(0)
      for (const row of scenario.rows) {
        if (row.skipped) {
          expect(typeof row.note).toBe('string')
          continue
        }
        expect(Number.isFinite(row.zinc), `${name}: ${row.metric} = ${row.zinc}`).toBe(true)
        if (row.baseline !== null) expect(Number.isFinite(row.baseline), `${name}: ${row.metric} baseline`).toBe(true)
      }
    }
    expect(await readFile(path.join(out, 'latest.svg'), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\s*$/)
    expect(await readFile(path.join(out, 'latest.md'), 'utf8')).toContain('| scenario |')
  })
})
