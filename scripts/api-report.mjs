#!/usr/bin/env node
/**
 * The public API report: for every package entry point (the `exports` of each workspace
 * package, `./internal` left out), every exported name with its declaration as the built
 * `.d.ts` shows it, comments stripped, sorted by name. `api/<package>.api.md` holds the
 * accepted report; test/api-report.test.ts fails when the built one differs, so a change of
 * the public surface is always a deliberate one.
 *
 *   node scripts/api-report.mjs           # print whether the reports match
 *   node scripts/api-report.mjs --write   # accept the current surface (after `npx tsc -b`)
 *
 * Why not @microsoft/api-extractor: it brings its own TypeScript 5 and a config per package,
 * takes seconds per package, and this repository builds with TypeScript 7 (no compiler API
 * in-process). The declaration files tsc emits are regular enough to read directly, which
 * keeps this check dependency-free and well under a second.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const REPORT_DIR = join(ROOT, 'api')

/** Entry points that are not the public API. */
const PRIVATE_ENTRIES = new Set(['./internal'])

/** Top-level statements of a .d.ts, comments stripped. */
function statements(file) {
  const text = readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .split('\n')
    .filter((line) => !/^\s*\/\//.test(line) && line.trim() !== '')
    .map((line) => line.replace(/\s+$/, ''))
  const out = []
  for (const line of text) {
    if (/^[^\s})\]]/.test(line) || out.length === 0) out.push(line)
    else out[out.length - 1] += `\n${line}`
  }
  return out
}

const DECLARATION = /^(?:export\s+)?(?:declare\s+)?(?:abstract\s+)?(class|interface|type|function|const|let|var|enum|namespace)\s+([A-Za-z_$][\w$]*)/

/** `a`, `type b as c` → [{ name: 'a', as: 'a' }, { name: 'b', as: 'c' }] */
function specifiers(list) {
  return list
    .split(',')
    .map((s) => s.trim().replace(/^type\s+/, ''))
    .filter(Boolean)
    .map((s) => {
      const [name, as] = s.split(/\s+as\s+/)
      return { name: name.trim(), as: (as ?? name).trim() }
    })
}

const cache = new Map()

/** Exported name → declaration text (several for overloads), following re-exports. */
function exportsOf(file) {
  const known = cache.get(file)
  if (known) return known
  const result = new Map()
  cache.set(file, result)
  const local = new Map()
  const imports = new Map()
  const reexports = []
  for (const st of statements(file)) {
    const flat = st.replace(/\s+/g, ' ')
    let m
    if ((m = /^import (?:type )?\{([^}]*)\} from '([^']+)';?$/.exec(flat))) {
      for (const { name, as } of specifiers(m[1])) imports.set(as, { from: m[2], name })
    } else if ((m = /^export (?:type )?\* from '([^']+)';?$/.exec(flat))) {
      reexports.push({ all: true, from: m[1] })
    } else if ((m = /^export (?:type )?\{([^}]*)\}(?: from '([^']+)')?;?$/.exec(flat))) {
      for (const spec of specifiers(m[1])) reexports.push({ ...spec, from: m[2] })
    } else if ((m = DECLARATION.exec(st))) {
      const list = local.get(m[2]) ?? []
      list.push({ exported: st.startsWith('export'), text: st })
      local.set(m[2], list)
    }
  }
  for (const [name, list] of local) {
    if (list.some((d) => d.exported)) result.set(name, list.map((d) => d.text).join('\n'))
  }
  const target = (from) => (from.startsWith('.') ? resolve(dirname(file), from.replace(/\.js$/, '.d.ts')) : undefined)
  for (const r of reexports) {
    const from = r.from ?? imports.get(r.name)?.from
    const name = r.from ? r.name : (imports.get(r.name)?.name ?? r.name)
    if (r.all) {
      const t = target(r.from)
      if (t) for (const [n, text] of exportsOf(t)) if (!result.has(n)) result.set(n, text)
      continue
    }
    if (from === undefined) {
      const decl = local.get(name)
      if (decl) result.set(r.as, decl.map((d) => d.text).join('\n'))
      continue
    }
    const t = target(from)
    if (!t) {
      result.set(r.as, `export { ${name === r.as ? name : `${name} as ${r.as}`} } from '${from}'`)
      continue
    }
    const text = exportsOf(t).get(name)
    result.set(r.as, text ?? `(not found: ${name} in ${relative(ROOT, t)})`)
  }
  return result
}

/** Every public entry of every workspace package: [{ pkg, entry, file }] */
export function entries() {
  const out = []
  for (const dir of readdirSync(join(ROOT, 'packages')).sort()) {
    const manifest = join(ROOT, 'packages', dir, 'package.json')
    if (!existsSync(manifest)) continue
    const pkg = JSON.parse(readFileSync(manifest, 'utf8'))
    for (const [entry, spec] of Object.entries(pkg.exports ?? {})) {
      if (PRIVATE_ENTRIES.has(entry) || typeof spec !== 'object' || !spec.types) continue
      out.push({ pkg: pkg.name, dir, entry, file: join(ROOT, 'packages', dir, spec.types) })
    }
  }
  return out
}

/** The report of one package (all its public entries), as Markdown. */
export function report(dir) {
  cache.clear()
  const parts = []
  for (const e of entries().filter((x) => x.dir === dir)) {
    if (!existsSync(e.file)) throw new Error(`${relative(ROOT, e.file)} is missing: build first (npx tsc -b).`)
    const names = [...exportsOf(e.file)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    const body = names.map(([name, text]) => `// ${name}\n${text}`).join('\n\n')
    parts.push(`## ${e.entry === '.' ? e.pkg : `${e.pkg}/${e.entry.slice(2)}`}\n\n\`\`\`ts\n${body}\n\`\`\`\n`)
  }
  return `# API report: ${dir}\n\nGenerated by \`node scripts/api-report.mjs --write\` from the built declarations; checked by test/api-report.test.ts.\n\n${parts.join('\n')}`
}

/** Packages that have a public entry. */
export function reportedPackages() {
  return [...new Set(entries().map((e) => e.dir))]
}

export function reportFile(dir) {
  return join(REPORT_DIR, `${dir}.api.md`)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const write = process.argv.includes('--write')
  let differ = 0
  for (const dir of reportedPackages()) {
    const current = report(dir)
    const file = reportFile(dir)
    const accepted = existsSync(file) ? readFileSync(file, 'utf8') : ''
    if (current === accepted) continue
    differ++
    if (write) {
      mkdirSync(REPORT_DIR, { recursive: true })
      writeFileSync(file, current)
      console.log(`wrote ${relative(ROOT, file)}`)
    } else console.log(`${relative(ROOT, file)} differs from the built API`)
  }
  if (!write && differ > 0) {
    console.log('Run `node scripts/api-report.mjs --write` to accept the change, and commit api/.')
    process.exit(1)
  }
  if (differ === 0) console.log('API reports match the built declarations.')
}
