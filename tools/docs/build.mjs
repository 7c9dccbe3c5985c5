#!/usr/bin/env node
// Builds Zinc's HTML API docs into docs/api/ with typedoc.
//
// typedoc needs TypeScript's JavaScript compiler API, which the root's TypeScript 7 (the
// native port) does not have, so typedoc and TypeScript 5.9 live here, in their own
// package.json and package-lock.json, outside the npm workspaces. They are installed on
// first use (`npm ci --prefix tools/docs`); the root's toolchain is never touched.
//
//   node tools/docs/build.mjs [extra typedoc options, e.g. --treatWarningsAsErrors]
//
// Exits with typedoc's status: non-zero when typedoc reported an error (a type error in
// the sources, a broken @includeCode, …). Warnings (undocumented exports, broken links)
// are printed but do not fail the build; `check.mjs` reports them.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

/** Installs typedoc + TypeScript 5 from tools/docs/package-lock.json when they are missing. */
export function ensureInstalled() {
  if (existsSync(join(here, 'node_modules', 'typedoc', 'package.json'))) return
  console.log('docs: installing typedoc and TypeScript 5 into tools/docs/node_modules (npm ci)')
  // --workspaces=false: tools/docs is not a workspace of the root; never act on the root.
  // Under `npm run docs` npm passes the root's prefix and workspace settings down in npm_config_*
  // variables; drop those so this install can only ever act on tools/docs.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_(local_prefix|prefix|workspaces?|include_workspace_root|global|location)$/i.test(k)))
  const r = spawnSync(npm, ['ci', '--prefix', here, '--no-audit', '--no-fund', '--workspaces=false'], { stdio: 'inherit', cwd: here, env })
  if (r.status !== 0) {
    console.error('docs: npm ci in tools/docs failed')
    process.exit(r.status ?? 1)
  }
}

/**
 * Source links: typedoc links "Defined in" to the git host of the `origin` remote. Without a
 * remote it knows (a fresh clone, a sandbox), link to the local files instead of warning.
 */
function sourceLinkArgs() {
  const r = spawnSync('git', ['-C', root, 'remote', 'get-url', 'origin'], { encoding: 'utf8' })
  if (r.status === 0 && /github|gitlab|bitbucket/i.test(r.stdout)) return []
  return ['--disableGit', '--sourceLinkTemplate', `${pathToFileURL(root).href}/{path}#L{line}`]
}

/**
 * Runs typedoc with tools/docs/typedoc.json. Returns its exit status and, when `capture` is
 * set, its output (also echoed).
 */
export function runTypedoc(extraArgs = [], { capture = false } = {}) {
  ensureInstalled()
  const cli = join(here, 'node_modules', 'typedoc', 'bin', 'typedoc')
  const args = [cli, '--options', join(here, 'typedoc.json'), ...sourceLinkArgs(), ...extraArgs]
  const r = spawnSync(process.execPath, args, {
    cwd: here,
    stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: capture ? '0' : process.env.FORCE_COLOR },
  })
  if (capture) {
    process.stdout.write(r.stdout ?? '')
    process.stderr.write(r.stderr ?? '')
  }
  if (r.error) throw r.error
  return { status: r.status ?? 1, output: `${r.stdout ?? ''}${r.stderr ?? ''}` }
}

/**
 * typedoc's pages point their icons at `assets/icons.svg#icon-…`, which Chromium refuses to load
 * from `file://` (every page opened from disk logged errors and showed no icons). Each page also
 * loads `assets/icons.js`, which puts the same symbols into the page itself, so a plain
 * `#icon-…` works from `file://` and from a server alike.
 */
export function inlineIconLinks(dir) {
  let changed = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) changed += inlineIconLinks(path)
    else if (entry.name.endsWith('.html')) {
      const html = readFileSync(path, 'utf8')
      const fixed = html.replace(/(?:\.\.\/)*assets\/icons\.svg#/g, '#')
      if (fixed !== html) {
        writeFileSync(path, fixed)
        changed++
      }
    }
  }
  return changed
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { status } = runTypedoc(process.argv.slice(2))
  if (status === 0 && existsSync(join(root, 'docs', 'api'))) inlineIconLinks(join(root, 'docs', 'api'))
  const index = join(root, 'docs', 'api', 'index.html')
  if (status === 0 && existsSync(index)) console.log(`docs: ${relative(process.cwd(), index) || index}`)
  process.exit(status)
}
