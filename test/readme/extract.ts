/**
 * Reads every README.md of the repository and pulls out what it shows: ```sh commands and
 * ```ts programs. The README tests run all of them, so a README cannot show something that
 * does not work.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', 'test-artifacts', 'packs', '.zinc-data', 'coverage'])

/** Every README.md under the repository root, as paths relative to it, sorted. */
export function readmes(dir = ROOT): string[] {
  const found: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name) && !entry.name.startsWith('.')) found.push(...readmes(join(dir, entry.name)))
    } else if (entry.name === 'README.md') found.push(relative(ROOT, join(dir, entry.name)))
  }
  return found.sort()
}

export interface Block {
  readme: string
  /** 1-based line of the opening fence. */
  line: number
  lang: string
  text: string
}

/** The fenced code blocks of a markdown file. */
export function blocks(readme: string): Block[] {
  const lines = readFileSync(join(ROOT, readme), 'utf8').split('\n')
  const out: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]!)
    if (!open) continue
    const start = i
    const body: string[] = []
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!)
    out.push({ readme, line: start + 1, lang: open[1] ?? '', text: body.join('\n') })
  }
  return out
}

export interface Command {
  readme: string
  /** 1-based line of the block's opening fence: commands of one block run as one session. */
  block: number
  line: number
  /** The command as shown, without its trailing comment and with `\` continuations joined. */
  command: string
}

/** Removes a trailing ` # comment` (outside quotes). */
function stripComment(line: string): string {
  let quote: string | undefined
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (quote) {
      if (c === quote) quote = undefined
    } else if (c === '"' || c === "'") quote = c
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i).trimEnd()
  }
  return line.trimEnd()
}

/** The shell commands of every ```sh block, one per (joined) line. */
export function commands(readme: string): Command[] {
  const out: Command[] = []
  for (const b of blocks(readme).filter((x) => x.lang === 'sh' || x.lang === 'bash')) {
    const lines = b.text.split('\n')
    for (let i = 0; i < lines.length; i++) {
      const line = i + b.line + 1
      let command = stripComment(lines[i]!)
      while (command.endsWith('\\') && i + 1 < lines.length) command = `${command.slice(0, -1).trimEnd()} ${stripComment(lines[++i]!).trim()}`
      if (command.trim()) out.push({ readme, block: b.line, line, command: command.trim().replace(/\s+/g, ' ') })
    }
  }
  return out
}

/** The ```ts blocks of every README. */
export function snippets(): Block[] {
  return readmes().flatMap((r) => blocks(r).filter((b) => b.lang === 'ts' || b.lang === 'typescript'))
}
