/**
 * The board example (examples/board, written with @zinc/react) end to end in headless
 * Chromium: two people, each in a browser of their own, add cards, type into them and reorder
 * cards and lists at the same time; both pages converge with every intent kept (a moved card
 * keeps the text typed into it meanwhile, both reorders stand). Then an offline reload.
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchProfile, prepareSuite, ROOT, SERVER } from '../../canvas/test/chromium.js'

const ARTIFACTS = join(ROOT, 'test-artifacts', 'board')
const WAIT = { timeout: 30_000 }

type Board = { title: string; lists: Array<{ id: string; title: string; cards: string[] }>; cards: Record<string, { text: string }> }
type Shown = Array<{ id: string; title: string; cards: Array<{ id: string; text: string }> }>
type Hook = {
  ready: boolean
  id: string
  state(): Board | undefined
  seq(): number
  pending(): number
  status(): string | undefined
  connected(): boolean
  setOffline(offline: boolean): void
  keptPending(): Promise<number>
  shown(): Shown
}
declare const window: { __board: Hook }

type CanvasServer = { url: string; close(): Promise<void> }
let skipReason: string | undefined
let server: CanvasServer | undefined
const contexts: BrowserContext[] = []
const userDataDirs: string[] = []
const pageErrors: string[] = []
let a: Page
let b: Page
let url = ''

const hook = <T>(page: Page, fn: (z: Hook) => T) => page.evaluate(`(${fn.toString()})(window.__board)`) as Promise<Awaited<T>>

async function openTab(name: string): Promise<Page> {
  const { context, userDataDir } = await launchProfile('zinc-board-chromium-')
  contexts.push(context)
  userDataDirs.push(userDataDir)
  const page = context.pages()[0] ?? (await context.newPage())
  page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`))
  page.on('console', (m) => {
    if (m.type() === 'error' && !/WebSocket connection to .* failed|ERR_CONNECTION_REFUSED/.test(m.text())) pageErrors.push(`${name} console: ${m.text()}`)
  })
  await page.goto(url)
  await page.waitForFunction(() => window.__board?.ready === true, null, WAIT)
  return page
}

/** Waits until both pages have nothing pending and hold the same seq and board; returns it. */
async function converged(): Promise<Board> {
  let last = ''
  for (const deadline = Date.now() + WAIT.timeout; Date.now() < deadline;) {
    const [x, y] = await Promise.all([a, b].map((p) => hook(p, (z) => ({ seq: z.seq(), pending: z.pending(), state: JSON.stringify(z.state()) }))))
    last = JSON.stringify({ a: x, b: y })
    if (x!.pending === 0 && y!.pending === 0 && x!.seq === y!.seq && x!.state === y!.state) return JSON.parse(x!.state) as Board
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`pages did not converge: ${last}`)
}

const card = (page: Page, id: string) => page.locator(`li.card[data-card="${id}"]`)
const list = (page: Page, id: string) => page.locator(`section.list[data-list="${id}"]`)

/** Types `text` at the end of a card's text (a click in the field, then Ctrl+End). */
async function typeInto(page: Page, field: ReturnType<Page['locator']>, text: string): Promise<void> {
  await field.click()
  await page.keyboard.press('Control+End')
  await page.keyboard.type(text, { delay: 15 })
}

/** Adds a card to `listId` on `page` and types its text; returns its id. */
async function addCard(page: Page, listId: string, text: string): Promise<string> {
  const before = new Set((await hook(page, (z) => z.shown())).flatMap((l) => l.cards.map((c) => c.id)))
  await list(page, listId).locator('.add-card').click()
  let id: string | undefined
  await expect
    .poll(async () => {
      id = (await hook(page, (z) => z.shown())).flatMap((l) => l.cards.map((c) => c.id)).find((c) => !before.has(c))
      return id
    }, WAIT)
    .toBeTruthy()
  await typeInto(page, card(page, id!).locator('textarea'), text)
  return id!
}

describe('board example in Chromium', () => {
  beforeAll(async () => {
    skipReason = await prepareSuite('board e2e', ARTIFACTS)
    if (skipReason) return
    const { startCanvasServer } = (await import(SERVER)) as { startCanvasServer(o: { port: number }): Promise<CanvasServer> }
    server = await startCanvasServer({ port: 0 })
    url = `${server.url}/board/?board=e2e-${Math.random().toString(36).slice(2, 8)}`
    a = await openTab('A')
    b = await openTab('B')
  }, 900_000)

  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close().catch(() => {})))
    await server?.close()
    await Promise.all(userDataDirs.map((d) => rm(d, { recursive: true, force: true }).catch(() => {})))
  }, 60_000)

  it('two people add cards and type into them; both pages show the same board', async (ctx) => {
    if (skipReason) return ctx.skip(skipReason)
    const alpha = await addCard(a, 'todo', 'alpha')
    const beta = await addCard(b, 'todo', 'beta')
    const gamma = await addCard(a, 'todo', 'gamma')
    const board = await converged()
    expect(board.cards[alpha]!.text).toBe('alpha')
    expect(board.cards[beta]!.text).toBe('beta')
    expect(board.cards[gamma]!.text).toBe('gamma')
    expect(new Set(board.lists.find((l) => l.id === 'todo')!.cards)).toEqual(new Set([alpha, beta, gamma]))
    // What each page shows is the document.
    for (const p of [a, b]) await p.waitForFunction(() => window.__board.shown().find((l) => l.id === 'todo')?.cards.length === 3, null, WAIT)
    await a.screenshot({ path: join(ARTIFACTS, '1-cards.png') })
  })

  it('typing, reordering and moving at the same time: every intent is kept', async (ctx) => {
    if (skipReason) return ctx.skip(skipReason)
    const start = await converged()
    const [c1, c2, c3] = start.lists.find((l) => l.id === 'todo')!.cards as [string, string, string]
    const text = (id: string) => start.cards[id]!.text
    // B works offline, so its changes are surely concurrent with A's, whatever the timing.
    await hook(b, (z) => z.setOffline(true))
    await b.waitForFunction(() => !window.__board.connected(), null, WAIT)
    // B: the first card to the bottom, the second card to "Doing", the "Done" list one place left.
    await card(b, c1).getByLabel('Move card down').click()
    await card(b, c1).getByLabel('Move card down').click()
    await card(b, c2).getByLabel('Move card right').click()
    await list(b, 'done').getByLabel('Move list left').click()
    // A, meanwhile: types into the first two cards, moves the third one up, renames "Doing".
    await typeInto(a, card(a, c1).locator('textarea'), ' one')
    await typeInto(a, card(a, c2).locator('textarea'), ' two')
    await card(a, c3).getByLabel('Move card up').click()
    await typeInto(a, list(a, 'doing').locator('.list-title'), ' now')
    expect(await hook(b, (z) => z.pending())).toBeGreaterThan(0)

    await hook(b, (z) => z.setOffline(false))
    const board = await converged()
    const byId = Object.fromEntries(board.lists.map((l) => [l.id, l]))
    expect(board.lists.map((l) => l.id)).toEqual(['todo', 'done', 'doing']) // B's list move
    expect(byId.doing!.title).toBe('Doing now') // A's rename
    expect(byId.todo!.cards).toEqual([c3, c1]) // B put c1 last, A put c3 above the rest
    expect(byId.doing!.cards).toEqual([c2]) // B moved c2 ...
    expect(board.cards[c2]!.text).toBe(`${text(c2)} two`) // ... and A's typing went with it
    expect(board.cards[c1]!.text).toBe(`${text(c1)} one`)
    // Both pages show it so.
    for (const p of [a, b])
      await p.waitForFunction(
        ([first, second]) => {
          const shown = window.__board.shown()
          return shown.map((l) => l.id).join() === 'todo,done,doing' && shown[0]!.cards.map((c) => c.id).join() === `${first},${second}`
        },
        [c3, c1] as const,
        WAIT,
      )
    await b.screenshot({ path: join(ARTIFACTS, '2-merged.png') })
  })

  it('two people type into one card at once: both texts appear whole', async (ctx) => {
    if (skipReason) return ctx.skip(skipReason)
    const start = await converged()
    const id = start.lists.find((l) => l.id === 'todo')!.cards[0]!
    const before = start.cards[id]!.text
    const fieldA = card(a, id).locator('textarea')
    const fieldB = card(b, id).locator('textarea')
    await fieldA.click()
    await a.keyboard.press('Control+End')
    await fieldB.click()
    await b.keyboard.press('Control+Home')
    await Promise.all([a.keyboard.type(' [from A]', { delay: 20 }), b.keyboard.type('[from B] ', { delay: 20 })])
    const board = await converged()
    expect(board.cards[id]!.text).toBe(`[from B] ${before} [from A]`)
    for (const p of [a, b]) await expect.poll(() => p.locator(`li.card[data-card="${id}"] textarea`).inputValue(), WAIT).toBe(`[from B] ${before} [from A]`)
  })

  it('a page reloaded offline shows its new card at once and sends it when back online', async (ctx) => {
    if (skipReason) return ctx.skip(skipReason)
    await converged()
    await b.locator('#offline').click() // lasts across the reload
    const id = await addCard(b, 'done', 'made offline')
    await expect.poll(() => hook(b, (z) => z.pending()), WAIT).toBeGreaterThan(0)
    const pending = await hook(b, (z) => z.pending())
    await expect.poll(() => hook(b, (z) => z.keptPending()), WAIT).toBe(pending)
    const bId = await hook(b, (z) => z.id)
    await b.reload()
    await b.waitForFunction(() => window.__board?.ready === true, null, WAIT)
    expect(await hook(b, (z) => z.id)).toBe(bId)
    expect(await b.locator('#st-conn').textContent()).toBe('offline')
    await expect.poll(() => card(b, id).locator('textarea').inputValue(), WAIT).toBe('made offline')
    expect(await a.locator(`li.card[data-card="${id}"]`).count()).toBe(0)
    await b.locator('#offline').click()
    const board = await converged()
    expect(board.cards[id]!.text).toBe('made offline')
    await expect.poll(() => card(a, id).locator('textarea').inputValue(), WAIT).toBe('made offline')
    await expect.poll(() => b.locator('#st-saved').textContent(), WAIT).toBe('all changes saved')
    expect(pageErrors).toEqual([])
  })
})
