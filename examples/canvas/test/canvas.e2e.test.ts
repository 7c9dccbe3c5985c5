/**
 * The canvas demo end to end, in a real headless Chromium (playwright-core, the system's
 * /usr/bin/chromium): the demo server runs in this process (built by `tsc -b`), two tabs draw
 * with the mouse and must converge, including after one drops offline.
 *
 * Screenshots and the 10k-shape frame times go to test-artifacts/canvas/.
 * Chromium missing: scripts/ensure-chromium.sh installs it if it can; otherwise every test is
 * skipped with the reason printed.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const ARTIFACTS = join(ROOT, 'test-artifacts', 'canvas')
const SERVER = join(ROOT, 'examples', 'dist', 'canvas', 'server', 'main.js')
const ENSURE = join(ROOT, 'scripts', 'ensure-chromium.sh')
const WAIT = { timeout: 20_000 }

type CanvasServer = { url: string; close(): Promise<void> }
type Hook = {
  ready: boolean
  seq(): number
  pending(): number
  shapeCount(): number
  drawnCount(): number
  digest(): { count: number; hash: string }
  connection(): string
  setOffline(offline: boolean): void
  presence(): Array<{ id: string; name: string; cursor: [number, number] | null }>
  stress(n: number): Promise<void>
  measureLocal(n: number): Promise<unknown>
  perf(): Record<string, unknown>
  resetPerf(): void
  pasteText(text: string): number
  endpoint: { id: string; peers: unknown[] }
  me: { name: string; color: string }
}
/** The page's test hook (examples/canvas/web/main.ts); this file has no DOM types. */
declare const window: { __zinc: Hook }

let skipReason: string | undefined
let server: CanvasServer | undefined
/** One Chromium per tab: a tab that is not in front gets no animation frames (and draws nothing). */
const contexts: BrowserContext[] = []
const userDataDirs: string[] = []
let a: Page
let b: Page
const pageErrors: string[] = []

async function ensureChromium(): Promise<string | undefined> {
  if (existsSync(CHROMIUM)) return undefined
  console.warn(`[canvas e2e] ${CHROMIUM} is missing; running scripts/ensure-chromium.sh (may take minutes)…`)
  try {
    const { stdout, stderr } = await promisify(execFile)('sh', [ENSURE], { env: { ...process.env, CHROMIUM }, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 })
    console.warn(`[canvas e2e] ${(stdout + stderr).trim().split('\n').slice(-2).join('\n')}`)
  } catch (error) {
    const e = error as { stderr?: string; message: string }
    console.warn(`[canvas e2e] ensure-chromium.sh failed: ${(e.stderr || e.message).trim().split('\n').slice(-3).join(' ')}`)
  }
  return existsSync(CHROMIUM) ? undefined : `Chromium is not installed at ${CHROMIUM} and scripts/ensure-chromium.sh could not install it (see above); set CHROMIUM=/path/to/chromium to use another.`
}

/** Skips the calling test, saying why, when Chromium is unavailable. */
function needBrowser(ctx: { skip: (note?: string) => void }): void {
  if (!skipReason) return
  console.warn(`[canvas e2e] SKIPPED: ${skipReason}`)
  ctx.skip(skipReason)
}

async function openTab(name: string): Promise<Page> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'zinc-canvas-chromium-'))
  userDataDirs.push(userDataDir)
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1100, height: 700 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  })
  contexts.push(context)
  const page = context.pages()[0] ?? (await context.newPage())
  page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`))
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(`${name} console: ${m.text()}`)
    else if (m.text().startsWith('[zinc perf]')) console.log(`[canvas e2e] ${name} ${m.text()}`)
  })
  await page.goto(server!.url)
  await page.waitForFunction(() => window.__zinc?.ready === true, null, WAIT)
  return page
}

/** Runs `fn(window.__zinc)` in the page (`fn` must not close over anything). */
const hook = <T>(page: Page, fn: (z: Hook) => T) => page.evaluate(`(${fn.toString()})(window.__zinc)`) as Promise<Awaited<T>>
const zinc = <T>(page: Page, body: string): Promise<T> => page.evaluate(`(() => { const z = window.__zinc; return ${body} })()`) as Promise<T>

/** Drags with the left button from → to in `steps` moves (the current tool decides what it draws). */
async function drag(page: Page, from: [number, number], to: [number, number], steps = 12, via?: [number, number]): Promise<void> {
  const box = (await page.locator('#overlay').boundingBox())!
  await page.mouse.move(box.x + from[0], box.y + from[1])
  await page.mouse.down()
  if (via) await page.mouse.move(box.x + via[0], box.y + via[1], { steps })
  await page.mouse.move(box.x + to[0], box.y + to[1], { steps })
  await page.mouse.up()
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) })
}

/** Waits until both tabs have nothing pending and the same seq and drawing. */
async function converged(): Promise<{ seq: number; count: number; hash: string }> {
  let last = ''
  for (const deadline = Date.now() + WAIT.timeout; Date.now() < deadline; ) {
    const [x, y] = await Promise.all([a, b].map((p) => zinc<{ seq: number; pending: number; d: { count: number; hash: string } }>(p, '({ seq: z.seq(), pending: z.pending(), d: z.digest() })')))
    last = JSON.stringify({ a: x, b: y })
    if (x!.pending === 0 && y!.pending === 0 && x!.seq === y!.seq && x!.d.hash === y!.d.hash) return { seq: x!.seq, ...x!.d }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`tabs did not converge: ${last}`)
}

describe('canvas demo in Chromium', () => {
  beforeAll(async () => {
    skipReason = await ensureChromium()
    if (skipReason) {
      console.warn(`[canvas e2e] all canvas tests will be skipped: ${skipReason}`)
      return
    }
    if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: build first (npx tsc -b), or run \`npm test\`, which builds.`)
    await mkdir(ARTIFACTS, { recursive: true })
    const mod = (await import(SERVER)) as { startCanvasServer(o: { port: number }): Promise<CanvasServer> }
    server = await mod.startCanvasServer({ port: 0 })
    a = await openTab('A')
    b = await openTab('B')
  }, 900_000)

  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close().catch(() => {})))
    await server?.close()
    await Promise.all(userDataDirs.map((d) => rm(d, { recursive: true, force: true }).catch(() => {})))
  }, 60_000)

  it('two tabs see each other’s strokes and cursors', async (ctx) => {
    needBrowser(ctx)
    await drag(a, [120, 140], [320, 200], 15, [220, 90]) // a freehand stroke on A
    await b.keyboard.press('r')
    await drag(b, [420, 260], [600, 380]) // a rectangle on B
    await b.keyboard.press('e')
    await drag(b, [650, 120], [800, 220]) // an ellipse on B
    await a.keyboard.press('l')
    await drag(a, [100, 500], [500, 450]) // a line on A

    await a.waitForFunction(() => window.__zinc.shapeCount() === 4 && window.__zinc.drawnCount() === 4, null, WAIT)
    await b.waitForFunction(() => window.__zinc.shapeCount() === 4 && window.__zinc.drawnCount() === 4, null, WAIT)
    const state = await converged()
    expect(state.count).toBe(4)

    // A's cursor, with A's name, shows up in B's presence.
    const box = (await a.locator('#overlay').boundingBox())!
    await a.mouse.move(box.x + 333, box.y + 222)
    const aName = await hook(a, (z) => z.me.name)
    const aId = await hook(a, (z) => z.endpoint.id)
    await b.waitForFunction(
      ([id, name]) => window.__zinc.presence().some((p) => p.id === id && p.name === name && p.cursor?.[0] === 333 && p.cursor?.[1] === 222),
      [aId, aName] as const,
      WAIT,
    )
    await expect.poll(() => zinc<string>(b, 'document.getElementById("st-conn").textContent'), WAIT).toBe('connected')
    await expect.poll(() => zinc<string>(b, 'document.getElementById("st-people").textContent'), WAIT).toBe('2')
    await b.mouse.move(box.x + 700, box.y + 500)
    await shot(a, '1-tab-a')
    await shot(b, '1-tab-b')
  })

  it('undo and redo (Ctrl-Z / Ctrl-Shift-Z) of a stroke reach the other tab', async (ctx) => {
    needBrowser(ctx)
    const before = await converged()
    await a.keyboard.press('p')
    await drag(a, [700, 450], [900, 600], 20, [850, 420])
    await b.waitForFunction((n) => window.__zinc.shapeCount() === n, before.count + 1, WAIT)
    await a.keyboard.press('Control+z')
    await b.waitForFunction((n) => window.__zinc.shapeCount() === n, before.count, WAIT)
    expect((await converged()).hash).toBe(before.hash)
    await a.keyboard.press('Control+Shift+z')
    await b.waitForFunction((n) => window.__zinc.shapeCount() === n, before.count + 1, WAIT)
    const after = await converged()
    expect(after.count).toBe(before.count + 1)
  })

  it('a tab that drops offline shows "reconnecting", keeps drawing, and catches up with nothing lost', async (ctx) => {
    needBrowser(ctx)
    const before = await converged()
    const aId = await hook(a, (z) => z.endpoint.id)
    await hook(a, (z) => z.setOffline(true))
    await expect.poll(() => zinc<string>(a, 'document.getElementById("st-conn").textContent'), WAIT).toMatch(/^reconnecting/)

    // Both draw while A is cut off: A's strokes stay pending, B's reach the root.
    await a.keyboard.press('p')
    await drag(a, [150, 300], [300, 380], 15, [200, 250])
    await a.keyboard.press('r')
    await drag(a, [320, 520], [420, 600])
    await b.keyboard.press('p')
    await drag(b, [800, 300], [950, 420], 15, [900, 260])
    expect(await hook(a, (z) => z.pending())).toBeGreaterThan(0)
    expect(await hook(a, (z) => z.shapeCount())).toBe(before.count + 2)
    // The relay notices A's silence and drops it from the roster (B sees A leave).
    await b.waitForFunction((id) => !window.__zinc.presence().some((p) => p.id === id), aId, WAIT)
    await shot(a, '2-offline-tab-a')

    await hook(a, (z) => z.setOffline(false))
    await expect.poll(() => zinc<string>(a, 'document.getElementById("st-conn").textContent'), WAIT).toBe('connected')
    const after = await converged()
    expect(after.count).toBe(before.count + 3)
    expect(after.seq).toBeGreaterThan(before.seq)
    // A is back in B's presence once it moves its pointer again.
    const box = (await a.locator('#overlay').boundingBox())!
    await a.mouse.move(box.x + 50, box.y + 60)
    await b.waitForFunction((id) => window.__zinc.presence().some((p) => p.id === id), aId, WAIT)
    await shot(a, '3-back-online-tab-a')
    await shot(b, '3-back-online-tab-b')
  })

  it('oversized pastes and runaway changes are throttled with a visible message', async (ctx) => {
    needBrowser(ctx)
    const before = await converged()
    const shape = { kind: 'rect', x: 10, y: 10, pts: [0, 0, 20, 20], color: '#16a34a', width: 2, fill: false, z: 1 }
    const huge = JSON.stringify({ shapes: Array.from({ length: 5000 }, () => shape) })
    expect(await a.evaluate((text) => window.__zinc.pasteText(text), huge)).toBe(0)
    await expect.poll(() => zinc<string>(a, 'document.getElementById("toast").textContent'), WAIT).toMatch(/Paste refused: 5,000 shapes/)
    await shot(a, '4-paste-refused')

    // A runaway loop of 1,000 one-shape pastes: the tab's rate limit lets a burst through.
    const one = JSON.stringify({ shapes: [shape] })
    const added = await a.evaluate((text) => {
      let n = 0
      for (let i = 0; i < 1000; i++) n += window.__zinc.pasteText(text)
      return n
    }, one)
    expect(added).toBeGreaterThan(0)
    expect(added).toBeLessThan(400)
    await expect.poll(() => zinc<string>(a, 'document.getElementById("toast").textContent'), WAIT).toMatch(/Slow down/)
    await shot(a, '5-throttled')
    const after = await converged()
    expect(after.count).toBe(before.count + added)
  })

  it('10,000 shapes: local and remote frame times (measured, not asserted)', async (ctx) => {
    needBrowser(ctx)
    const before = await converged()
    await hook(a, (z) => z.stress(10_000))
    await b.waitForFunction((n) => window.__zinc.drawnCount() >= n, before.count + 10_000, { timeout: 60_000 })
    await converged()
    await Promise.all([hook(a, (z) => z.resetPerf()), hook(b, (z) => z.resetPerf())])
    await a.evaluate(() => window.__zinc.measureLocal(40))
    // B renders A's 40 changes as they arrive (several may come in one batch, one render).
    await converged()
    await b.waitForFunction(() => ((window.__zinc.perf().remote as { n: number }).n ?? 0) > 0, null, WAIT)
    const perf = { local: await hook(a, (z) => z.perf()), remote: await hook(b, (z) => z.perf()), at: new Date().toISOString() }
    console.log(`[canvas e2e] frame times at 10k shapes:\n  local (doc.change + render, tab A): ${JSON.stringify(perf.local.local)}\n  remote (subscribe → render, tab B): ${JSON.stringify(perf.remote.remote)}\n  remote Zinc (socket message → subscribe callback, tab B): ${JSON.stringify(perf.remote.remoteZinc)}`)
    await writeFile(join(ARTIFACTS, 'perf-10k.json'), JSON.stringify(perf, null, 2))
    await shot(b, '6-10k-shapes')
    const after = await converged()
    expect(after.count).toBe(before.count + 10_000)
  }, 180_000)

  it('a reloaded tab shows the whole drawing as soon as it has joined', async (ctx) => {
    needBrowser(ctx)
    const expected = await converged()
    await b.reload()
    await b.waitForFunction(() => window.__zinc?.ready === true, null, WAIT)
    expect(await hook(b, (z) => z.digest().hash)).toBe(expected.hash)
    expect(await hook(b, (z) => z.seq())).toBe(expected.seq)
    await b.waitForFunction((n) => window.__zinc.drawnCount() === n, expected.count, WAIT)
    const frame = await hook(b, (z) => z.perf().frame)
    console.log(`[canvas e2e] reloaded tab: first full render of ${expected.count} shapes, frames ${JSON.stringify(frame)} ms`)
    await shot(b, '7-reloaded')
    expect(pageErrors).toEqual([])
  })
})
