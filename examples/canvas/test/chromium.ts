/**
 * Headless Chromium for the examples' e2e tests (playwright-core driving the system's
 * /usr/bin/chromium, or $CHROMIUM). Missing: scripts/ensure-chromium.sh installs it if it can;
 * otherwise the tests are skipped with the reason.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { chromium, type BrowserContext } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const ENSURE = join(ROOT, 'scripts', 'ensure-chromium.sh')
/** The demo server (canvas and board), as built by `tsc -b`. */
export const SERVER = join(ROOT, 'examples', 'dist', 'canvas', 'server', 'main.js')

/** Undefined when Chromium is there (installing it if scripts/ensure-chromium.sh can); else one line saying how to get it. */
export async function ensureChromium(label: string): Promise<string | undefined> {
  if (existsSync(CHROMIUM)) return undefined
  console.warn(`[${label}] ${CHROMIUM} is missing; trying scripts/ensure-chromium.sh (apt-get, may take minutes)`)
  let why = ''
  try {
    await promisify(execFile)('sh', [ENSURE], { env: { ...process.env, CHROMIUM }, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 })
  } catch (error) {
    const e = error as { stderr?: string; message: string }
    why = (e.stderr || e.message)
      .trim()
      .split('\n')
      .pop()!
      .replace(/^ensure-chromium: /, '')
  }
  if (existsSync(CHROMIUM)) return undefined
  return `Chromium is not installed at ${CHROMIUM} (${why || 'the install did not produce it'}): run \`sudo sh scripts/ensure-chromium.sh\` (Debian: \`sudo apt-get install chromium\`) or set CHROMIUM=/path/to/chromium.`
}

/**
 * One Chromium with a profile of its own (its own IndexedDB), in a temporary folder the caller
 * removes. One per tab: a tab that is not in front gets no animation frames.
 */
export async function launchProfile(prefix: string): Promise<{ context: BrowserContext; userDataDir: string }> {
  const userDataDir = await mkdtemp(join(tmpdir(), prefix))
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1100, height: 700 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  })
  return { context, userDataDir }
}

/**
 * The start of an e2e suite: Chromium there (or the reason the suite is skipped, printed once),
 * the server built, the artifacts folder made.
 */
export async function prepareSuite(label: string, artifacts: string): Promise<string | undefined> {
  const skip = await ensureChromium(label)
  if (skip) {
    console.warn(`[${label}] SKIPPED: ${skip}`)
    return skip
  }
  if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: build first (npx tsc -b), or run \`npm test\`, which builds.`)
  await mkdir(artifacts, { recursive: true })
  return undefined
}
