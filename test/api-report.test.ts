/**
 * The public API surface is what api/*.api.md says: this test rebuilds each report from the
 * built declarations (scripts/api-report.mjs) and fails on any difference, so an export, a
 * signature or a type that changes unintentionally is caught in review. To accept a deliberate
 * change: `npx tsc -b && node scripts/api-report.mjs --write`, then commit api/.
 */
import { existsSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
// @ts-expect-error -- a plain .mjs script without declarations
import { report, reportedPackages, reportFile } from '../scripts/api-report.mjs'

/** The first lines where two texts differ, with a little context: enough to see what changed. */
function firstDifference(accepted: string, built: string): string {
  const a = accepted.split('\n')
  const b = built.split('\n')
  let i = 0
  while (i < a.length && i < b.length && a[i] === b[i]) i++
  const from = Math.max(0, i - 3)
  return [`first difference at line ${i + 1}:`, '--- accepted (api/)', ...a.slice(from, i + 6), '+++ built (dist/)', ...b.slice(from, i + 6)].join('\n')
}

describe('API report', () => {
  const packages = reportedPackages() as string[]

  it('covers every published package', () => {
    expect(packages).toEqual(expect.arrayContaining(['core', 'transport-inproc', 'transport-ws', 'transport-zmq', 'storage-lmdb']))
  })

  for (const dir of packages) {
    it(`${dir}: the built public API equals api/${dir}.api.md`, () => {
      const file = reportFile(dir) as string
      const built = report(dir) as string
      expect(existsSync(file), `api/${dir}.api.md is missing: run node scripts/api-report.mjs --write`).toBe(true)
      const accepted = readFileSync(file, 'utf8')
      if (accepted !== built) {
        expect.fail(`The public API of ${dir} changed. If that is intended, run \`npx tsc -b && node scripts/api-report.mjs --write\` and commit api/.\n${firstDifference(accepted, built)}`)
      }
    })
  }
})
