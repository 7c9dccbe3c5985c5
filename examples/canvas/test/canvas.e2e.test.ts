/**
 * The canvas demo end to end, in a real headless Chromium (playwright-core, the system's
 * /usr/bin/chromium): the demo server runs in this process (built by `tsc -b`), two tabs draw
 * with the mouse and must converge, including after one drops offline.
 *
 * Screenshots and the 10k-shape frame times go to test-artifacts/canvas/.
 * Chromium missing: scripts/ensure-chromium.sh installs it if it can; otherwise every test is
 * skipped with the reason printed.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchProfile, prepareSuite, ROOT, SERVER } from './chromium.js'

const ARTIFACTS = join(ROOT, 'test-artifacts', 'canvas')
const WAIT = { timeout: 20_000 }

type CanvasServer = { url: string; port: number; close(): Promise<void> }
type Storage = { close(): Promise<void> }
type ServerModule = { startCanvasServer(o: { port: number; root?: { storage: Storage } }): Promise<CanvasServer> }
type Hook = {
  ready: boolean
  seq(): number
  pending(): number
  keptPending(): Promise<number>
  notice(): string
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
  clearBoard(): number
  undo(): void
  banner(): string
  notes(): Array<{ id: string; text: string; x: number; y: number }>
  openNote(id: string): void
  editingNote(): string | undefined
  layers(): string[]
  layerIds(): string[]
  moveLayer(id: string, delta: number): boolean
  endpoint: { id: string; peers: unknown[] }
  me: { name: string; color: string }
}
/** The page's test hook (examples/canvas/web/main.ts); this file has no DOM types. */
declare const window: { __zinc: Hook }

let skipReason: string | undefined
let server: CanvasServer | undefined
let serverModule: ServerModule
/** The root's LMDB store: the server-restart test starts a new server on it, as `npm start` would. */
let storage: Storage | undefined
let dataDir: string | undefined
/** Chromium's own console lines for WebSocket connections that failed (the page cannot silence them). */
const socketErrors: Array<{ at: number; text: string }> = []
/** One Chromium per tab: a tab that is not in front gets no animation frames (and draws nothing). */
const contexts: BrowserContext[] = []
const userDataDirs: string[] = []
let a: Page
let b: Page
const pageErrors: string[] = []

/** Skips the calling test, saying why, when Chromium is unavailable (said once, in beforeAll). */
function needBrowser(ctx: { skip: (note?: string) => void }): void {
  if (skipReason) ctx.skip(skipReason)
}

async function openTab(name: string): Promise<Page> {
  const { context, userDataDir } = await launchProfile('zinc-canvas-chromium-')
  userDataDirs.push(userDataDir)
  contexts.push(context)
  const page = context.pages()[0] ?? (await context.newPage())
  page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`))
  page.on('console', (m) => {
    if (m.type() === 'error' && /WebSocket connection to .* failed|ERR_CONNECTION_REFUSED/.test(m.text())) socketErrors.push({ at: Date.now(), text: `${name}: ${m.text()}` })
    else if (m.type() === 'error') pageErrors.push(`${name} console: ${m.text()}`)
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
  for (const deadline = Date.now() + WAIT.timeout; Date.now() < deadline;) {
    const [x, y] = await Promise.all([a, b].map((p) => zinc<{ seq: number; pending: number; d: { count: number; hash: string } }>(p, '({ seq: z.seq(), pending: z.pending(), d: z.digest() })')))
    last = JSON.stringify({ a: x, b: y })
    if (x!.pending === 0 && y!.pending === 0 && x!.seq === y!.seq && x!.d.hash === y!.d.hash) return { seq: x!.seq, ...x!.d }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`tabs did not converge: ${last}`)
}

describe('canvas demo in Chromium', () => {
  beforeAll(async () => {
    skipReason = await prepareSuite('canvas e2e', ARTIFACTS)
    if (skipReason) return
    serverModule = (await import(SERVER)) as ServerModule
    const { LmdbStorage } = await import('@zinc/storage-lmdb')
    dataDir = await mkdtemp(join(tmpdir(), 'zinc-canvas-data-'))
    storage = await LmdbStorage.open(dataDir)
    server = await serverModule.startCanvasServer({ port: 0, root: { storage } })
    a = await openTab('A')
    b = await openTab('B')
  }, 900_000)

  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close().catch(() => {})))
    await server?.close()
    await storage?.close()
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
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
    await b.waitForFunction(([id, name]) => window.__zinc.presence().some((p) => p.id === id && p.name === name && p.cursor?.[0] === 333 && p.cursor?.[1] === 222), [aId, aName] as const, WAIT)
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

  it('the server goes away: a banner with a countdown, stale counts, few console lines, changes kept; back within seconds of its return', { timeout: 120_000 }, async (ctx) => {
    needBrowser(ctx)
    const before = await converged()
    const port = server!.port
    const outageStart = Date.now()
    await server!.close()
    server = undefined
    for (const p of [a, b])
      await p.waitForFunction(() => /^Server unreachable: your changes are kept and will be sent when it is back\. (Retrying in \d+ s…|Retrying now…)$/.test(window.__zinc.banner()), null, WAIT)
    expect(await zinc<string>(a, 'document.getElementById("st-conn").textContent')).toBe('reconnecting')
    expect(await zinc<boolean>(a, 'document.getElementById("st-people").classList.contains("stale")')).toBe(true)
    // A keeps drawing; the banner counts what is kept.
    await a.keyboard.press('r')
    await drag(a, [600, 80], [680, 140])
    await a.waitForFunction(() => /your \d+ changes? (is|are) kept/.test(window.__zinc.banner()), null, WAIT)
    await shot(a, '4-server-away')
    // Stay away long enough to see the retry rate settle, then bring the server back on its port and store.
    await new Promise((r) => setTimeout(r, 6000))
    const outageMs = Date.now() - outageStart
    const lines = socketErrors.filter((e) => e.at >= outageStart).length
    server = await serverModule.startCanvasServer({ port, root: { storage: storage! } })
    const back = Date.now()
    await Promise.all([a, b].map((p) => p.waitForFunction(() => window.__zinc.connection() === 'connected' && window.__zinc.banner() === '', null, { timeout: 30_000 })))
    const reconnectMs = Date.now() - back
    console.log(`[canvas e2e] server away ${(outageMs / 1000).toFixed(1)} s: ${lines} console lines from failed WebSockets (2 tabs); both tabs connected ${reconnectMs} ms after it returned`)
    // Chromium logs each failed WebSocket; net.ts lets one real attempt per server through every 1.5 s.
    expect(lines).toBeLessThanOrEqual(Math.ceil(outageMs / 1500 + 2) * 2)
    const after = await converged()
    expect(after.count).toBe(before.count + 1)
  })

  // Both need core's intent-preserving operations: a string assignment becomes a text edit, a
  // splice a list move. With whole-value patches the last keystroke wins and a layer gets lost.
  it('two people type into the same note at once and both texts appear whole', async (ctx) => {
    needBrowser(ctx)
    await a.keyboard.press('n')
    const box = (await a.locator('#overlay').boundingBox())!
    await a.mouse.click(box.x + 420, box.y + 470)
    await a.waitForFunction(() => window.__zinc.editingNote() !== undefined, null, WAIT)
    await a.keyboard.type('hello world')
    const id = (await hook(a, (z) => z.editingNote()))!
    await b.waitForFunction((n) => window.__zinc.notes().some((x) => x.id === n && x.text === 'hello world'), id, WAIT)
    // B opens the note and puts its caret at the end; A's caret goes to the start. Then both type at once.
    await b.evaluate((n) => window.__zinc.openNote(n), id)
    await a.keyboard.press('Home')
    await a.keyboard.press('Control+Home')
    await Promise.all([a.keyboard.type('alpha from A, ', { delay: 15 }), b.keyboard.type(' and bravo from B', { delay: 15 })])
    const expected = 'alpha from A, hello world and bravo from B'
    for (const p of [a, b]) await expect.poll(() => p.evaluate((n) => window.__zinc.notes().find((x) => x.id === n)?.text, id), WAIT).toBe(expected)
    // What each person sees in the editor is the merged text too.
    expect(await a.locator('#note-editor').inputValue()).toBe(expected)
    expect(await b.locator('#note-editor').inputValue()).toBe(expected)
    await shot(b, '5-note-typed-together')
    await Promise.all([a.keyboard.press('Escape'), b.keyboard.press('Escape')])
    await converged()
  })

  it('two people reorder the layers at once and both moves are kept', async (ctx) => {
    needBrowser(ctx)
    const ids = await hook(a, (z) => z.layerIds()) // top first: Notes, Drawing, Background
    expect(ids).toEqual(['l2', 'l1', 'base'])
    await a.evaluate(() => window.__zinc.setOffline(true))
    await b.evaluate(() => window.__zinc.setOffline(true))
    expect(await a.evaluate(() => window.__zinc.moveLayer('base', +2))).toBe(true) // A: Background to the top
    expect(await b.evaluate(() => window.__zinc.moveLayer('l2', -1))).toBe(true) // B: Notes below Drawing
    await a.evaluate(() => window.__zinc.setOffline(false))
    await b.evaluate(() => window.__zinc.setOffline(false))
    await converged()
    const layers = await hook(a, (z) => z.layerIds())
    expect(await hook(b, (z) => z.layerIds())).toEqual(layers)
    expect(new Set(layers)).toEqual(new Set(ids)) // nothing lost, nothing twice
    expect(layers[0]).toBe('base') // A's move kept
    expect(layers.indexOf('l2')).toBeGreaterThan(layers.indexOf('l1')) // B's move kept
  })

  it('clear board removes everything for everyone, and Undo brings it back', async (ctx) => {
    needBrowser(ctx)
    const before = await converged()
    expect(before.count).toBeGreaterThan(0)
    expect(await hook(a, (z) => z.clearBoard())).toBe(before.count)
    await b.waitForFunction(() => window.__zinc.shapeCount() === 0 && window.__zinc.drawnCount() === 0, null, WAIT)
    await hook(a, (z) => z.undo())
    await b.waitForFunction((n) => window.__zinc.shapeCount() === n, before.count, WAIT)
    expect((await converged()).hash).toBe(before.hash)
  })

  it('the layout holds from 390 to 1920 px wide: no sideways scrolling, the canvas fills what is left', async (ctx) => {
    needBrowser(ctx)
    for (const [width, height] of [
      [390, 844],
      [768, 1024],
      [1280, 800],
      [1920, 1080],
    ] as const) {
      await a.setViewportSize({ width, height })
      await a.waitForFunction(
        ([w, h]) => {
          const stage = document.getElementById('stage')!.getBoundingClientRect()
          const canvas = document.getElementById('base')!.getBoundingClientRect()
          const status = document.getElementById('status')!.getBoundingClientRect()
          return (
            Math.round(canvas.width) === Math.round(stage.width) &&
            Math.round(canvas.height) === Math.round(stage.height) &&
            stage.bottom <= status.top + 1 &&
            status.bottom <= h + 1 &&
            document.documentElement.scrollWidth <= w &&
            stage.height > 100
          )
        },
        [width, height] as const,
        WAIT,
      )
      const toolbar = (await a.locator('#toolbar').boundingBox())!
      if (width >= 1280) expect(toolbar.height, `one toolbar row at ${width} px`).toBeLessThan(48)
      await shot(a, `6-layout-${width}`)
    }
    await a.setViewportSize({ width: 1100, height: 700 })
  })

  it('a tab reloaded while offline shows its strokes at once, keeps its identity, and sends them exactly once when back', async (ctx) => {
    needBrowser(ctx)
    const before = await converged()
    const aId = await hook(a, (z) => z.endpoint.id)
    await hook(a, (z) => z.setOffline(true))
    await a.keyboard.press('r')
    await drag(a, [700, 300], [760, 360])
    await a.keyboard.press('e')
    await drag(a, [500, 120], [580, 180])
    await a.waitForFunction((n) => window.__zinc.shapeCount() === n && window.__zinc.pending() >= 2, before.count + 2, WAIT)
    // Kept in IndexedDB (every change of both strokes): nothing asks before leaving, and the reload has them.
    const pending = await hook(a, (z) => z.pending())
    await expect.poll(() => hook(a, (z) => z.keptPending()), WAIT).toBe(pending)
    await a.reload()
    await a.waitForFunction(() => window.__zinc?.ready === true, null, WAIT)
    expect(await hook(a, (z) => z.connection())).toBe('offline') // "Go offline" lasts across the reload
    expect(await hook(a, (z) => z.shapeCount())).toBe(before.count + 2)
    expect(await hook(a, (z) => z.pending())).toBe(pending)
    expect(await hook(a, (z) => z.endpoint.id)).toBe(aId)
    await a.waitForFunction((n) => window.__zinc.drawnCount() === n, before.count + 2, WAIT)
    await shot(a, '5-reloaded-offline')
    expect(await hook(b, (z) => z.shapeCount())).toBe(before.count)

    await hook(a, (z) => z.setOffline(false))
    const after = await converged()
    expect(after.count).toBe(before.count + 2) // each stroke once, though sent before and after the reload
    expect(await hook(b, (z) => z.shapeCount())).toBe(before.count + 2)
  })

  it('two tabs of one browser are two identities; a damaged or foreign local store starts fresh with a warning', async (ctx) => {
    needBrowser(ctx)
    const expected = await converged()
    const aId = await hook(a, (z) => z.endpoint.id)
    // A second tab of A's browser (same IndexedDB): its own identity, the same drawing.
    const second = await a.context().newPage()
    await second.bringToFront()
    await second.goto(server!.url)
    await second.waitForFunction(() => window.__zinc?.ready === true, null, WAIT)
    expect(await hook(second, (z) => z.endpoint.id)).not.toBe(aId)
    await second.waitForFunction((n) => window.__zinc.shapeCount() === n, expected.count, WAIT)
    await second.close()
    await a.bringToFront()

    // A tab whose kept board is damaged: a warning, and the board from the server.
    const d = await openTab('D')
    await d.waitForFunction((n) => window.__zinc.shapeCount() === n, expected.count, WAIT)
    await expect.poll(() => hook(d, (z) => z.keptPending()), WAIT).toBe(0)
    await d.evaluate(`new Promise((resolve, reject) => {
      const open = indexedDB.open('zinc-canvas')
      open.onerror = () => reject(open.error)
      open.onsuccess = () => {
        const db = open.result
        const tx = db.transaction('docs', 'readwrite')
        tx.objectStore('docs').put({ seq: 'garbage', pending: 12 }, [window.__zinc.endpoint.id, window.__zinc.doc.id])
        tx.oncomplete = () => (db.close(), resolve(true))
        tx.onerror = () => reject(tx.error)
      }
    })`)
    await d.reload()
    await d.waitForFunction(() => window.__zinc?.ready === true, null, WAIT)
    await d.waitForFunction(() => /unreadable/.test(window.__zinc.notice()), null, WAIT)
    await d.waitForFunction((n) => window.__zinc.shapeCount() === n && window.__zinc.drawnCount() === n, expected.count, WAIT)
    await shot(d, '8-damaged-store')

    // A database of the same name written by something else: cleared, with a warning.
    await d.evaluate(`new Promise((resolve, reject) => {
      const del = indexedDB.deleteDatabase('zinc-canvas')
      del.onerror = () => reject(del.error)
      del.onsuccess = () => {
        const open = indexedDB.open('zinc-canvas', 7)
        open.onupgradeneeded = () => open.result.createObjectStore('something-else')
        open.onerror = () => reject(open.error)
        open.onsuccess = () => (open.result.close(), resolve(true))
      }
    })`)
    await d.reload()
    await d.waitForFunction(() => window.__zinc?.ready === true, null, WAIT)
    await d.waitForFunction(() => /starts fresh/.test(window.__zinc.notice()), null, WAIT)
    await d.waitForFunction((n) => window.__zinc.shapeCount() === n, expected.count, WAIT)
    await d.context().close()
    expect((await converged()).hash).toBe(expected.hash)
  })

  it('?stress= opens a board of its own', async (ctx) => {
    needBrowser(ctx)
    // Stress data goes on a fresh stress-… board, never the shared one.
    const c = await a.context().newPage()
    await c.bringToFront() // a tab in the background gets no animation frames
    await c.goto(`${server!.url}/?stress=50`)
    await c.waitForURL(/board=stress-[a-z0-9]+/, WAIT)
    await c.waitForFunction(() => window.__zinc?.shapeCount() === 50, null, { timeout: 60_000 })
    await c.close()
    await a.bringToFront()
    expect((await converged()).count).toBeGreaterThan(0)
  })

  it('10,000 shapes: local and remote frame times (measured, not asserted)', async (ctx) => {
    needBrowser(ctx)
    const before = await converged()
    await hook(a, (z) => z.stress(10_000))
    // Generous: 10 changes of 1,000 inserts each, on a machine that may be busy with other tests.
    await b.waitForFunction((n) => window.__zinc.drawnCount() >= n, before.count + 10_000, { timeout: 240_000 })
    await converged()
    await Promise.all([hook(a, (z) => z.resetPerf()), hook(b, (z) => z.resetPerf())])
    await a.evaluate(() => window.__zinc.measureLocal(40))
    // B renders A's 40 changes as they arrive (several may come in one batch, one render).
    await converged()
    await b.waitForFunction(() => ((window.__zinc.perf().remote as { n: number }).n ?? 0) > 0, null, WAIT)
    const perf = { local: await hook(a, (z) => z.perf()), remote: await hook(b, (z) => z.perf()), at: new Date().toISOString() }
    console.log(
      `[canvas e2e] frame times at 10k shapes:\n  local (doc.change + render, tab A): ${JSON.stringify(perf.local.local)}\n  remote (subscribe → render, tab B): ${JSON.stringify(perf.remote.remote)}\n  remote Zinc (socket message → subscribe callback, tab B): ${JSON.stringify(perf.remote.remoteZinc)}`,
    )
    await writeFile(join(ARTIFACTS, 'perf-10k.json'), JSON.stringify(perf, null, 2))
    await shot(b, '6-10k-shapes')
    const after = await converged()
    expect(after.count).toBe(before.count + 10_000)
  }, 400_000)

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
