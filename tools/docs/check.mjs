#!/usr/bin/env node
// Builds the API docs and fails when typedoc reports an error: a type error in the sources
// under TypeScript 5.9, an @includeCode/@include that does not resolve, a bad option.
// Warnings (undocumented exports — validation.notDocumented —, links that do not resolve)
// are summarised; pass --strict to fail on them too.
//
//   node tools/docs/check.mjs [--strict]
import { existsSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { inlineIconLinks, runTypedoc } from './build.mjs'

const strict = process.argv.includes('--strict')
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const { status, output } = runTypedoc([], { capture: true })
const plain = output.replace(/\x1b\[[0-9;]*m/g, '')
const errors = plain.split('\n').filter((l) => l.includes('[error]'))
const warnings = plain.split('\n').filter((l) => l.includes('[warning]') && !/^\[warning\] Found \d+ errors/.test(l.trim()))
const undocumented = warnings.filter((l) => l.includes('does not have any documentation'))
const other = warnings.filter((l) => !l.includes('does not have any documentation'))

console.log('\n── docs check ──')
console.log(`typedoc exit status: ${status}; errors: ${errors.length}; warnings: ${warnings.length} (undocumented: ${undocumented.length}, other: ${other.length})`)
for (const l of other) console.log(`  ${l.trim()}`)
const index = join(root, 'docs', 'api', 'index.html')
if (status === 0 && existsSync(index)) inlineIconLinks(join(root, 'docs', 'api'))
const problems = []
if (status !== 0 || errors.length > 0) problems.push('typedoc reported errors')
if (!existsSync(index)) problems.push('docs/api/index.html was not written')
if (strict && warnings.length > 0) problems.push(`--strict: ${warnings.length} warnings`)
if (problems.length) {
  console.error(`docs check FAILED: ${problems.join('; ')}`)
  process.exit(1)
}
console.log('docs check passed')
