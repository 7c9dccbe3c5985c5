/**
 * Zinc as an app gets it: every publishable workspace is packed (`npm pack`, as `npm run pack`
 * does), the tarballs are checked (license, README, no build caches, source maps whose sources
 * are in the tarball), then installed into a temporary app outside the repository — Zinc from
 * the local tarballs, third-party dependencies from the npm registry (or npm's cache) — where
 * the README's program is type-checked under `nodenext` and `bundler` resolution and run, and
 * `npx zinc` works.
 */
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT } from './extract.js'

const exec = promisify(execFile)
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')

let work = ''
let app = ''
let tarballs: string[] = []

/** Every file under `dir`, relative to it. */
function files(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name), base) : [relative(base, join(dir, e.name))]))
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'zinc-pack-'))
  app = join(work, 'app')
  const { packAll } = (await import(join(ROOT, 'scripts', 'pack.mjs'))) as { packAll(out: string, o?: { build?: boolean }): string[] }
  // `npm test` has just built everything.
  tarballs = packAll(join(work, 'packs'), { build: false })
  await exec('mkdir', ['-p', app])
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'zinc-consumer', private: true, type: 'module' }))
  const rootManifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }
  // --prefer-offline: third-party packages from npm's cache when it has them, else the registry.
  await exec(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', ...tarballs, `@types/node@${rootManifest.devDependencies['@types/node']}`], { cwd: app, timeout: 300_000 })
}, 360_000)

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true })
})

describe('packed packages in an app outside the repository', () => {
  it('every tarball has its LICENSE, README and metadata, and no build cache', () => {
    expect(tarballs.length).toBe(9)
    for (const name of ['core', 'transport-inproc', 'transport-zmq', 'transport-ws', 'storage-lmdb', 'cli', 'storage-idb', 'react', 'coordinator-etcd']) {
      const dir = join(app, 'node_modules', '@zinc', name)
      const list = files(dir)
      expect(list, name).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json']))
      expect(
        list.filter((f) => /tsbuildinfo/.test(f)),
        name,
      ).toEqual([])
      expect(
        list.some((f) => f.startsWith('test/')),
        name,
      ).toBe(false)
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
      expect(manifest.license, name).toBe('MIT')
      expect(manifest.repository?.url, name).toMatch(/^git\+https:/)
      expect(manifest.keywords?.length, name).toBeGreaterThan(0)
      expect(manifest.engines?.node, name).toBe('>=20')
    }
  })

  it('every source map resolves to a file in the package', () => {
    for (const name of ['core', 'transport-inproc', 'transport-zmq', 'transport-ws', 'storage-lmdb', 'cli', 'storage-idb', 'react', 'coordinator-etcd']) {
      const dir = join(app, 'node_modules', '@zinc', name)
      const maps = files(dir).filter((f) => f.endsWith('.map'))
      expect(maps.length, name).toBeGreaterThan(0)
      for (const map of maps) {
        const { sources } = JSON.parse(readFileSync(join(dir, map), 'utf8')) as { sources: string[] }
        for (const source of sources) expect(existsSync(resolve(dir, dirname(map), source)), `${name}/${map} → ${source}`).toBe(true)
      }
    }
  })

  for (const [label, options] of [
    ['nodenext', { module: 'NodeNext', moduleResolution: 'NodeNext' }],
    ['bundler', { module: 'ESNext', moduleResolution: 'Bundler' }],
  ] as const) {
    it(`the README's program type-checks under ${label} resolution and runs`, { timeout: 120_000 }, async () => {
      const source = readFileSync(join(ROOT, 'examples', 'api', 'main.ts'), 'utf8')
      await writeFile(join(app, `api-${label}.ts`), source)
      await writeFile(
        join(app, `tsconfig.${label}.json`),
        JSON.stringify({ compilerOptions: { target: 'ES2022', lib: ['ES2023'], ...options, strict: true, types: ['node'], skipLibCheck: false, outDir: `out-${label}` }, files: [`api-${label}.ts`] }),
      )
      const tsc = await exec(process.execPath, [TSC, '-p', `tsconfig.${label}.json`], { cwd: app }).catch((e: { stdout: string; stderr: string }) => e)
      expect(`${tsc.stdout}${tsc.stderr}`.trim()).toBe('')
      const { stdout } = await exec(process.execPath, [join(app, `out-${label}`, `api-${label}.js`)], { cwd: app, timeout: 60_000 })
      expect(stdout).toContain("chat { text: 'hello' }")
    })
  }

  it('npx zinc runs from the installed CLI', { timeout: 60_000 }, async () => {
    const { stdout } = await exec('npx', ['--no-install', 'zinc', 'keygen', '--json'], { cwd: app, timeout: 60_000 })
    expect(JSON.parse(stdout).publicKey).toHaveLength(40)
  })
})
