// Issue 19: the canvas demo with a crowd. The demo server (root + WebSocket edge relay, as
// `npm start` runs it) in this process; `--tabs` Node stand-ins for browser tabs in `--procs`
// other processes, joined over WebSocket to the edge, on the board a real page has open; and
// `--pages` real Chromium pages (playwright-core driving Debian's chromium, as the canvas e2e
// does) on that board. Once everyone is in, the tabs move their cursors `--hz` times a second
// each for `--seconds`, and every page measures itself meanwhile:
// - frame interval: requestAnimationFrame to requestAnimationFrame (what a person sees;
//   16.7 ms at 60 Hz), p50 / p95 / max, and frames longer than 50 ms;
// - frame work: the page's own time per frame (render + overlay, its perf hook);
// - long tasks (over 50 ms) in the page;
// - what the status bar shows: people on the board and cursors in view (the overlay draws only
//   those in view, at most 100).
// Also the server process's CPU (root + edge), and the tab processes' CPU.
//
//   node bench/scenarios/canvas-crowd.mjs [--tabs 200] [--procs 4] [--pages 2] [--hz 10] [--seconds 10] [--smoke]
//
// Needs the build (`npx tsc -b`) and Chromium (scripts/ensure-chromium.sh, or CHROMIUM=path).
// Prints one JSON line (stdout); progress on stderr.
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawnWorker, stopAll } from '../lib/proc.mjs'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SERVER = join(ROOT, 'examples', 'dist', 'canvas', 'server', 'main.js')
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const log = (...a) => process.stderr.write(`${a.join(' ')}\n`)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : +s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))].toFixed(1)
}

async function waitFor(predicate, what, timeoutMs) {
  const deadline = Date.now() + timeoutMs
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(100)
  }
}

/** In the page: frame intervals and long tasks over `ms`, then the page's own perf summary. */
function measureInPage(ms) {
  return new Promise((resolve) => {
    const intervals = []
    let longTasks = 0
    const observer = new PerformanceObserver((list) => (longTasks += list.getEntries().length))
    try {
      observer.observe({ type: 'longtask', buffered: false })
    } catch {}
    const start = performance.now()
    let last = start
    const step = (t) => {
      intervals.push(t - last)
      last = t
      if (t - start < ms) return requestAnimationFrame(step)
      observer.disconnect()
      resolve({ intervals, longTasks })
    }
    requestAnimationFrame((t) => ((last = t), requestAnimationFrame(step)))
  })
}

async function openPage(chromium, url, i) {
  const userDataDir = await mkdtemp(join(tmpdir(), 'zinc-canvas-crowd-'))
  // One Chromium per page: a page that is not in front gets no animation frames.
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1100, height: 700 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  })
  const page = context.pages()[0] ?? (await context.newPage())
  page.on('pageerror', (error) => log(`  page ${i}: ${error.message}`))
  await page.goto(url)
  await page.waitForFunction(() => window.__zinc?.ready === true, null, { timeout: 60_000 })
  return { page, context, userDataDir }
}

/** What a page shows and measured while the crowd moved. */
async function pageFigures(page, ms) {
  await page.evaluate(() => window.__zinc.resetPerf())
  const { intervals, longTasks } = await page.evaluate(measureInPage, ms)
  const perf = await page.evaluate(() => window.__zinc.perf())
  const people = Number(await page.textContent('#st-people'))
  const inView = Number(await page.textContent('#st-inview'))
  return {
    frames: intervals.length,
    frameIntervalP50Ms: pct(intervals, 50),
    frameIntervalP95Ms: pct(intervals, 95),
    frameIntervalMaxMs: +Math.max(...intervals).toFixed(1),
    framesOver50Ms: intervals.filter((x) => x > 50).length,
    frameWork: perf.frame,
    longTasks,
    people,
    inView,
  }
}

export async function canvasCrowd({ tabs = 200, procs = 4, pages = 2, hz = 10, seconds = 10 }) {
  if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: build first (npx tsc -b)`)
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not at ${CHROMIUM}: run scripts/ensure-chromium.sh, or set CHROMIUM=/path/to/chromium`)
  const { chromium } = await import('playwright-core')
  const { startCanvasServer } = await import(SERVER)
  const { silentLogger } = await import(new URL('../../packages/core/dist/index.js', import.meta.url).href)
  // Hundreds of tabs from one host: the per-IP cap (64 connections) is lifted for the run.
  const server = await startCanvasServer({ port: 0, maxConnectionsPerIp: 0, logger: silentLogger })
  const board = `crowd-${Math.random().toString(36).slice(2, 8)}`
  const url = `${server.url}/?board=${board}`
  const opened = []
  const workers = []
  try {
    log(`canvas-crowd: ${pages} Chromium page(s) on ${url}`)
    for (let i = 0; i < pages; i++) opened.push(await openPage(chromium, url, i))
    const join = { inbound: `ws://127.0.0.1:${server.port}/zinc/in`, outbound: `ws://127.0.0.1:${server.port}/zinc/out` }
    const per = Array.from({ length: procs }, (_, i) => Math.floor(tabs / procs) + (i < tabs % procs ? 1 : 0))
    const t0 = performance.now()
    let first = 0
    for (const count of per) {
      workers.push(spawnWorker('canvas-tabs', { count, join, doc: `canvas/${board}`, first }, { readyTimeoutMs: 300_000 }))
      first += count
    }
    const tabProcs = await Promise.all(workers)
    workers.splice(0, workers.length, ...tabProcs)
    await Promise.all(tabProcs.map((w) => w.call('open', {}, 300_000)))
    const startS = (performance.now() - t0) / 1000
    log(`canvas-crowd: ${tabs} tabs joined and opened the board in ${startS.toFixed(1)} s`)

    // What an endpoint of the server counted, when a page does not come to show everyone.
    const brief = (e) => {
      const s = e.stats()
      return JSON.stringify({
        children: s.children,
        dropped: s.dropped,
        throttled: s.throttled,
        queueDrops: s.queueDrops,
        forged: s.forged,
        refusals: s.refusals,
        refusedByCode: s.refusedByCode,
        receivedByKind: s.receivedByKind,
      })
    }
    try {
      for (const { page } of opened) await waitFor(async () => Number(await page.textContent('#st-people')) >= tabs, `a page to show the ${tabs} people present`, 120_000)
    } catch (error) {
      const shown = await Promise.all(opened.map(({ page }) => page.textContent('#st-people')))
      const seen = await Promise.all(tabProcs.map((w) => w.call('mark')))
      log(`canvas-crowd: pages show ${shown.join(', ')} people; tab processes see ${seen.map((m) => m.seen).join(', ')}`)
      log(`  root ${brief(server.root)}\n  relay ${brief(server.relay)}`)
      throw error
    }
    // Idle: the pages with the crowd present and still.
    const idle = await Promise.all(opened.map(({ page }) => pageFigures(page, 3000)))
    const cpu0 = process.cpuUsage()
    const w0 = await Promise.all(tabProcs.map((w) => w.call('mark')))
    const t1 = performance.now()
    const ms = seconds * 1000
    const moving = Promise.all(tabProcs.map((w) => w.call('move', { hz, ms }, ms + 120_000)))
    await sleep(Math.min(1000, ms / 4))
    const during = await Promise.all(opened.map(({ page }) => pageFigures(page, ms - Math.min(1000, ms / 4) - 500)))
    const moved = await moving
    const moves = moved.reduce((s, m) => s + m.moves, 0)
    const elapsed = performance.now() - t1
    const cpu1 = process.cpuUsage(cpu0)
    const w1 = await Promise.all(tabProcs.map((w) => w.call('mark')))
    const tabsCpu = w0.reduce((s, m, i) => s + (100 * (w1[i].cpuUs - m.cpuUs)) / (w1[i].t - m.t), 0)
    return {
      scenario: `canvas demo: ${tabs} Node tabs over WebSocket in ${procs} processes + ${pages} Chromium page(s), cursors at ${hz} Hz each for ${seconds} s`,
      loadAverage: +loadavg()[0].toFixed(1),
      startS: +startS.toFixed(2),
      movesPerS: Math.round((moves * 1000) / elapsed),
      serverCpuPct: +((100 * (cpu1.user + cpu1.system)) / 1000 / elapsed).toFixed(1),
      tabProcessesCpuPct: +tabsCpu.toFixed(1),
      presenceSeenByATab: w1[0].seen,
      idle,
      during,
      // The tree after the run: who is joined where, and the presence frames each hop handled.
      server: Object.fromEntries(
        [
          ['root', server.root],
          ['edge', server.relay],
        ].map(([name, e]) => {
          const st = e.stats()
          const got = st.receivedByKind
          return [
            name,
            {
              role: e.role,
              epoch: st.epoch,
              children: st.children,
              presenceIn: (got.PRESENCE ?? 0) + (got.PRESENCES ?? 0),
              hellos: got.HELLO ?? 0,
              dropped: st.dropped,
              throttled: st.throttled,
              refusals: st.refusals,
            },
          ]
        }),
      ),
    }
  } finally {
    await stopAll(workers)
    for (const { context, userDataDir } of opened) {
      await context.close().catch(() => {})
      await rm(userDataDir, { recursive: true, force: true }).catch(() => {})
    }
    await server.close()
  }
}

async function main() {
  const args = process.argv.slice(2)
  const opt = (name, fallback) => {
    const i = args.indexOf(name)
    return i >= 0 ? Number(args[i + 1]) : fallback
  }
  const smoke = args.includes('--smoke')
  const result = await canvasCrowd({
    tabs: opt('--tabs', smoke ? 20 : 200),
    procs: opt('--procs', smoke ? 1 : 4),
    pages: opt('--pages', smoke ? 1 : 2),
    hz: opt('--hz', 10),
    seconds: opt('--seconds', smoke ? 3 : 10),
  })
  console.log(JSON.stringify(result))
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().then(
    () => process.exit(0),
    (error) => {
      console.error(error)
      process.exit(1)
    },
  )
}
