#!/usr/bin/env node
// Packs every publishable workspace (not the private examples) into one folder, so an app can
// `npm install` Zinc from tarballs before (or without) a registry release.
//
//   node scripts/pack.mjs [--out DIR]      (npm run pack; DIR defaults to packs/, git-ignored)
//
// Prints one tarball path per line. Builds first (tsc -b) so dist/ matches the sources.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

/** The workspaces an app can depend on: every one that is not `private`. */
export function publishableWorkspaces() {
  const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  return workspaces.map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) })).filter((w) => !w.manifest.private)
}

/** Packs them into `out`; returns the tarballs' absolute paths. */
export function packAll(out, { build = true } = {}) {
  mkdirSync(out, { recursive: true })
  if (build) execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-b'], { cwd: root, stdio: 'inherit' })
  const args = ['pack', '--json', '--ignore-scripts', '--pack-destination', out, ...publishableWorkspaces().flatMap((w) => ['-w', w.dir])]
  const packed = JSON.parse(execFileSync(npm, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }))
  return packed.map((p) => join(out, p.filename))
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2)
  let out = join(root, 'packs')
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out' && argv[i + 1]) out = resolve(argv[++i])
    else {
      process.stderr.write(`pack: unknown argument ${argv[i]}. Usage: node scripts/pack.mjs [--out DIR]\n`)
      process.exit(2)
    }
  }
  for (const file of packAll(out)) console.log(file)
}
