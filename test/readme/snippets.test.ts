/**
 * Every ```ts block of every README.md is a complete program: this test writes each one to a
 * file, type-checks them all (strict, NodeNext, against the built workspace packages) and runs
 * each with node. A block whose first line is a `// name.ts …` comment is a module another
 * block imports (a worker handler): it is written under that name, type-checked, and run only
 * through the program that uses it. The root README's "API in one screen" must also be
 * examples/api/main.ts verbatim, which `npm run api` and the pack test run.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'
import { ROOT, snippets } from './extract.js'

const run = promisify(execFile)
/** Inside the repository, so `@zinc/*` resolve to the workspace packages (git-ignored). */
const DIR = join(ROOT, 'test-artifacts', 'readme-snippets')
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
/** `// thumbnail.ts — …` on the first line names a module block. */
const moduleName = (text: string) => /^\/\/ ([\w-]+)\.ts\b/.exec(text)?.[1]
const all = snippets().map((s) => ({ ...s, module: moduleName(s.text) !== undefined, name: moduleName(s.text) ?? `${s.readme.replace(/[/.]/g, '_')}_${s.line}` }))

beforeAll(async () => {
  await rm(DIR, { recursive: true, force: true })
  await mkdir(DIR, { recursive: true })
  await writeFile(join(DIR, 'package.json'), JSON.stringify({ type: 'module', private: true }))
  await writeFile(
    join(DIR, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2023'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noUncheckedIndexedAccess: true,
        types: ['node'],
        outDir: 'out',
        skipLibCheck: true,
      },
      include: ['*.ts'],
    }),
  )
  for (const s of all) await writeFile(join(DIR, `${s.name}.ts`), `// ${s.readme}:${s.line}\n${s.text}\n`)
}, 60_000)

describe('README TypeScript snippets', () => {
  it('there are snippets, and the root README shows examples/api/main.ts verbatim', () => {
    expect(all.length).toBeGreaterThanOrEqual(5)
    const api = all.find((s) => s.readme === 'README.md')
    expect(api, 'README.md has a ```ts block').toBeDefined()
    expect(api!.text + '\n').toBe(readFileSync(join(ROOT, 'examples', 'api', 'main.ts'), 'utf8'))
    const names = all.map((s) => s.name)
    expect(
      names.filter((n, i) => names.indexOf(n) !== i),
      'module blocks need distinct names',
    ).toEqual([])
  })

  it('all type-check', { timeout: 120_000 }, async () => {
    const result = await run(process.execPath, [TSC, '-p', DIR], { cwd: DIR }).catch((e: { stdout: string; stderr: string }) => e)
    expect(`${result.stdout}${result.stderr}`.trim(), 'tsc errors (file names say which README and line)').toBe('')
  })

  for (const s of all.filter((x) => !x.module)) {
    it(`${s.readme}:${s.line} runs and exits 0`, { timeout: 90_000 }, async () => {
      const { stdout } = await run(process.execPath, [join(DIR, 'out', `${s.name}.js`)], { cwd: DIR, timeout: 60_000 })
      expect(stdout.length).toBeGreaterThan(0) // each snippet prints what it shows
    })
  }
})
