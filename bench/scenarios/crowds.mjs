// (10) Crowds (issue 19): many leaves under one relay, in one process, on the in-process
// transport, with default liveness settings (heartbeat 250 ms, peer timeout 1.5 s).
//
// For root → 1 relay → N leaves: the time to start and join every leaf (all at once, as a
// lecture hall's tabs would), then to open the document on every leaf; the process's idle CPU
// once settled (and per endpoint); how long one change takes to reach every leaf (p50, p99,
// max over leaves); heap per leaf; and whether a leaf's join still re-sends anything to the
// other leaves (ROSTER frames received per leaf).
// `--tree R,L` also runs root → R relays → L leaves each (the 10,000-endpoint tree of the
// issue is `--tree 10,1000`).
//
// `--ws N,P`: one edge relay (and its root) in one process, N WebSocket leaves in P other
// processes (the target is `--ws 1000,10`): join, open, the edge's idle CPU, one change
// from the root reaching every leaf (p50/p99 over 20 changes, after 5 not counted: cold code), the edge's heap per leaf.
//
//   node --expose-gc bench/scenarios/crowds.mjs [--sizes 100,200,500,1000] [--tree 10,1000] [--ws 1000,10] [--smoke]
//
// Prints one JSON line per topology (stdout); progress on stderr.
import { availableParallelism, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'

const core = await import(new URL('../../packages/core/dist/index.js', import.meta.url).href)
const { InprocNetwork, InprocTransport } = await import(new URL('../../packages/transport-inproc/dist/index.js', import.meta.url).href)
const { Endpoint, silentLogger } = core

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const log = (...a) => process.stderr.write(`${a.join(' ')}\n`)

async function waitFor(predicate, what, timeoutMs) {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(5)
  }
}

function heap() {
  globalThis.gc?.()
  globalThis.gc?.()
  return process.memoryUsage().heapUsed
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}

/** One topology: root → `relays` relays → `leaves` leaves under each. */
export async function crowd({ relays = 1, leaves, idleMs = 3000, timeoutMs = 600_000, oneByOne = false }) {
  const network = new InprocNetwork({ seed: 19 })
  let n = 0
  const start = (join, bind) => {
    const name = `n${n++}`
    return Endpoint.start({
      transport: new InprocTransport(network, { node: name }),
      logger: silentLogger,
      joinTimeoutMs: timeoutMs,
      ...(bind ? { bind: { inbound: network.uniqueAddress(`${name}-in`), outbound: network.uniqueAddress(`${name}-out`) } } : {}),
      ...(join ? { join } : {}),
    })
  }
  const all = []
  try {
    const h0 = heap()
    const root = await start(undefined, true)
    all.push(root)
    await root.open('crowd', { initial: { n: 0, by: '' } })
    const mids = []
    for (let i = 0; i < relays; i++) mids.push(await start(root.addresses, true))
    all.push(...mids)
    // Every relay opens the document first (as an edge that serves one lecture would).
    await Promise.all(mids.map((m) => m.open('crowd')))
    const h1 = heap()
    const t0 = performance.now()
    // All at once (a lecture starting), or one after the other (people trickling in: each join
    // then sees every earlier one settled, the case where per-join costs add up).
    const tabs = []
    if (oneByOne) for (let i = 0; i < leaves; i++) for (const m of mids) tabs.push(await start(m.addresses, false))
    else tabs.push(...(await Promise.all(mids.flatMap((m) => Array.from({ length: leaves }, () => start(m.addresses, false))))))
    all.push(...tabs)
    const joinedMs = performance.now() - t0
    log(`  ${relays}×${leaves}: joined after ${(joinedMs / 1000).toFixed(1)} s`)
    const docs = await Promise.all(tabs.map((t) => t.open('crowd')))
    const openMs = performance.now() - t0
    log(`  ${relays}×${leaves}: opened after ${(openMs / 1000).toFixed(1)} s`)
    await sleep(1000)
    const h2 = heap()
    const rostersBefore = tabs.reduce((s, t) => s + (t.stats().receivedByKind?.ROSTER ?? 0), 0)
    await globalThis.__idleHook?.('start')
    const c0 = process.cpuUsage()
    const w0 = performance.now()
    await sleep(idleMs)
    const c1 = process.cpuUsage(c0)
    await globalThis.__idleHook?.('stop')
    const idleWall = performance.now() - w0
    const idleCpu = (100 * (c1.user + c1.system)) / 1000 / idleWall
    // One change from the first leaf: when does each other leaf see it?
    const arrivals = []
    const sent = performance.now()
    globalThis.__watch = sent
    const stops = docs.slice(1).map((d) => d.subscribe((s) => s.n === 1 && arrivals.push(performance.now() - sent)))
    let atRelay = NaN
    const relayDoc = await mids[0].open('crowd')
    stops.push(relayDoc.subscribe((s) => s.n === 1 && (atRelay = performance.now() - sent)))
    const fragment = docs[0].change((s) => {
      s.n = 1
      s.by = 'first'
    })
    let confirmedMs = NaN
    void fragment.confirmed.then(() => (confirmedMs = performance.now() - sent))
    await waitFor(() => arrivals.length === docs.length - 1, 'the change everywhere', timeoutMs)
    for (const stop of stops) stop()
    const rootReceived = { ...(root.stats().receivedByKind ?? {}) }
    // The tree's size as the root knows it: its relays' reports (issue 19: hop by hop).
    const rootDescendants = root.stats().descendants
    // Presence: up to 10 leaves under each relay move in one tick (every leaf holds every
    // mover's value: a few per relay keep the 10,000-endpoint tree within memory). Frames the
    // root handled for it, and the time until every leaf sees every mover.
    const perRelay = Math.min(leaves, 10)
    const movers = oneByOne ? docs.slice(0, perRelay * relays) : mids.flatMap((_, r) => docs.slice(r * leaves, r * leaves + perRelay))
    const presenceFrames = () => {
      const got = root.stats().receivedByKind ?? {}
      return (got.PRESENCE ?? 0) + (got.PRESENCES ?? 0)
    }
    const p0 = presenceFrames()
    const ps = performance.now()
    movers.forEach((d, i) => d.presence.set({ cursor: [i, 1] }))
    await waitFor(() => docs.every((d) => d.presence.get().size >= movers.length), 'every leaf to see every mover', timeoutMs)
    const presenceMs = performance.now() - ps
    const rootPresenceFrames = presenceFrames() - p0
    const result = {
      joins: oneByOne ? 'one by one' : 'all at once',
      topology: relays === 1 ? `root → 1 relay → ${leaves} leaves` : `root → ${relays} relays → ${leaves} leaves each (${relays * leaves})`,
      endpoints: all.length,
      joinS: +(joinedMs / 1000).toFixed(2),
      startS: +(openMs / 1000).toFixed(2),
      idleCpuPct: +idleCpu.toFixed(1),
      idleCpuPerEndpointMsPerS: +((idleCpu * 10) / all.length).toFixed(3),
      changeAtRelayMs: +atRelay.toFixed(1),
      changeConfirmedMs: +confirmedMs.toFixed(1),
      changeP50Ms: +pct(arrivals, 50).toFixed(1),
      changeP99Ms: +pct(arrivals, 99).toFixed(1),
      changeMaxMs: +Math.max(...arrivals).toFixed(1),
      heapPerLeafKB: +((h2 - h1) / tabs.length / 1024).toFixed(1),
      heapBaseMB: +((h1 - h0) / 1e6).toFixed(1),
      rosterFramesPerLeaf: +(rostersBefore / tabs.length).toFixed(2),
      presenceMovers: movers.length,
      presenceAllSeenMs: +presenceMs.toFixed(1),
      rootPresenceFrames,
      rootDescendants,
      rootReceived,
    }
    return result
  } finally {
    await Promise.all(all.map((e) => e.close().catch(() => {})))
  }
}

/**
 * One edge relay (with its root, in one process) and `leaves` WebSocket leaves in `procs`
 * other processes, all joining at once: the 1,000-tab target.
 */
export async function wsCrowd({ leaves, procs, changes = 20, warmup = 5, idleMs = 3000 }) {
  const { spawnWorker, stopAll } = await import('../lib/proc.mjs')
  const { nowUs } = await import('../lib/worker.mjs')
  const ws = []
  const loadAtStart = +loadavg()[0].toFixed(1)
  try {
    const edge = await spawnWorker('crowd-edge', {}, { execArgv: ['--expose-gc', ...(process.env.CROWDS_EDGE_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CROWDS_EDGE_PROF}`] : [])] })
    ws.push(edge)
    const h0 = await edge.call('gc')
    // The tab processes start first (10 Node processes starting at once on 2 cores take seconds,
    // which says nothing about the edge); then every tab joins at once, as a lecture's loaded
    // pages would when it starts. Times are from that moment.
    const spawnT0 = nowUs()
    const per = Array.from({ length: procs }, (_, i) => Math.floor(leaves / procs) + (i < leaves % procs ? 1 : 0))
    // CROWDS_TABS_PROF=<dir>: CPU profile of the first tab process too.
    const tabProf = (i) => (i === 0 && process.env.CROWDS_TABS_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CROWDS_TABS_PROF}`] : [])
    const tabs = await Promise.all(per.map((count, i) => spawnWorker('crowd-tabs', { count, join: edge.info.addresses }, { readyTimeoutMs: 300_000, execArgv: tabProf(i) })))
    ws.push(...tabs)
    const spawnS = (Math.max(...tabs.map((t) => t.info.upUs)) - spawnT0) / 1e6
    await sleep(1000)
    const joinMark = await edge.call('mark')
    const t0 = nowUs()
    const joins = await Promise.all(tabs.map((t) => t.call('join', {}, 300_000)))
    const joinedS = (Math.max(...joins.map((j) => j.doneUs)) - t0) / 1e6
    // Inside the tab processes: from their first join to their last.
    const joinInsideS = Math.max(...joins.map((j) => j.joinUs)) / 1e6
    const eachJoinMs = joins.flatMap((j) => j.eachMs)
    const hellosPerTab = joins.reduce((sum, j) => sum + j.hellos, 0) / leaves
    log(`  ws ${leaves}: joined after ${joinedS.toFixed(1)} s`)
    const opened = await Promise.all(tabs.map((t) => t.call('open', {}, 300_000)))
    const startS = (Math.max(...opened.map((o) => o.doneUs)) - t0) / 1e6
    const eachOpenMs = opened.flatMap((o) => o.eachMs)
    log(`  ws ${leaves}: opened after ${startS.toFixed(1)} s`)
    // The edge's CPU while the crowd joined and opened: near the wall time means the edge was
    // the bottleneck; far below it, it waited for the tabs (or for a core).
    const openMark = await edge.call('mark')
    const edgeStartCpuS = (openMark.cpuUs - joinMark.cpuUs) / 1e6
    await sleep(2000)
    const h1 = await edge.call('gc')
    const m0 = await edge.call('mark')
    const tm0 = await Promise.all(tabs.map((t) => t.call('mark')))
    await sleep(idleMs)
    const m1 = await edge.call('mark')
    const tm1 = await Promise.all(tabs.map((t) => t.call('mark')))
    const cpu = (a, b) => (100 * (b.cpuUs - a.cpuUs)) / (b.t - a.t)
    const tabsCpu = tm0.reduce((sum, m, i) => sum + cpu(m, tm1[i]), 0)
    const lat = []
    // Where the time goes: the first leaf of each process to see a change (the edge's fan-out
    // and the wire) against the last one (the other 99 leaves of that process applied it first:
    // a cost of putting 100 tabs in one process, which a browser does not have).
    const firstInProcess = []
    const lastInProcess = []
    // CROWDS_CHANGE_PROF=<dir>: CPU profiles of the edge and of the first tab process while the
    // measured changes are sent (only that phase), for bench/profile-top.mjs.
    const changeProf = process.env.CROWDS_CHANGE_PROF
    // One change from the root, until every leaf saw it: each leaf's latency, per process, and
    // whether the edge sent a heartbeat down while it spread (another frame on every socket).
    const spread = async (n) => {
      await Promise.all(tabs.map((t) => t.call('listen', { n })))
      const seen = Promise.all(tabs.map((t) => t.call('seen', { timeoutMs: 30_000 }, 60_000)))
      const before = await edge.call('mark')
      await edge.call('change', { n })
      const answers = await seen
      const after = await edge.call('mark')
      const perProcess = answers.map((a) => a.samples)
      const these = perProcess.flat().map((us) => us / 1000)
      const beat = (after.sent.HEARTBEAT ?? 0) > (before.sent.HEARTBEAT ?? 0) ? '*' : ''
      // CPU the change cost beyond idling: each tab process's from its 'listen' to its last leaf
      // seeing it, the edge's from the change until every leaf saw it, less the idle rates
      // measured above over those windows.
      const tabsUs = answers.reduce((sum, a, i) => sum + a.cpuUs - (tabIdlePct[i] / 100) * a.wallUs, 0)
      const edgeUs = after.cpuUs - before.cpuUs - (edgeIdlePct / 100) * (after.t - before.t)
      await sleep(100)
      return { these, perProcess, tabsUs, edgeUs, label: `${Math.round(pct(these, 50))}/${Math.round(Math.max(...these))}${beat}` }
    }
    const edgeIdlePct = cpu(m0, m1)
    const tabIdlePct = tm0.map((m, i) => cpu(m, tm1[i]))
    // The first changes run cold code in every tab process (the decode and apply path has not
    // been compiled yet: nothing changed before) and are several times slower; they are
    // reported apart (`warmupPerChange`), as the first change a page sees after loading.
    const warmupPerChange = []
    for (let n = 1; n <= warmup; n++) warmupPerChange.push((await spread(n)).label)
    if (changeProf) await Promise.all([edge.call('profile'), tabs[0].call('profile')])
    const cm0 = await edge.call('mark')
    const ctm0 = await Promise.all(tabs.map((t) => t.call('mark')))
    // Per change: its p50 and max over the leaves (* when the edge sent a heartbeat down meanwhile).
    const perChange = []
    const tabsOwn = []
    const edgeOwn = []
    for (let n = warmup + 1; n <= warmup + changes; n++) {
      const { these, perProcess, label, tabsUs, edgeUs } = await spread(n)
      tabsOwn.push(tabsUs)
      edgeOwn.push(edgeUs)
      lat.push(...these)
      perChange.push(label)
      for (const got of perProcess.filter((g) => g.length > 0)) {
        firstInProcess.push(Math.min(...got) / 1000)
        lastInProcess.push(Math.max(...got) / 1000)
      }
    }
    // CPU per change: the edge's, and the tab processes' per leaf (decode and apply, 1,000 times).
    const cm1 = await edge.call('mark')
    const ctm1 = await Promise.all(tabs.map((t) => t.call('mark')))
    const tabsChangeCpuUs = ctm1.reduce((sum, m, i) => sum + m.cpuUs - ctm0[i].cpuUs, 0)
    // What one change costs beyond idling, the edge's and all the tabs' together (median over
    // the changes), spread over this machine's cores: the last leaves cannot see a change much
    // sooner than that when the edge and the tabs share the cores — the floor of the latency.
    const edgeOwnUs = pct(edgeOwn, 50)
    const tabsOwnUs = pct(tabsOwn, 50)
    const cores = availableParallelism()
    if (changeProf) {
      await edge.call('profile', { file: `${changeProf}/edge-changes.cpuprofile` })
      await tabs[0].call('profile', { file: `${changeProf}/tabs-changes.cpuprofile` })
    }
    return {
      topology: `edge relay → ${leaves} WebSocket leaves in ${procs} processes`,
      joinS: +joinedS.toFixed(2),
      processesUpS: +spawnS.toFixed(2),
      joinInsideProcessS: +joinInsideS.toFixed(2),
      oneJoinP50Ms: Math.round(pct(eachJoinMs, 50)),
      oneJoinP90Ms: Math.round(pct(eachJoinMs, 90)),
      hellosPerTab: +hellosPerTab.toFixed(2),
      tabsJoinCpuS: +(joins.reduce((sum, j) => sum + j.cpuUs, 0) / 1e6).toFixed(2),
      startS: +startS.toFixed(2),
      // One tab's open, from when all were asked (p50/p90), the OPENs the tabs sent, and the
      // longest a tab process's event loop was held meanwhile.
      oneOpenP50Ms: Math.round(pct(eachOpenMs, 50)),
      oneOpenP90Ms: Math.round(pct(eachOpenMs, 90)),
      opensPerTab: +(opened.reduce((sum, o) => sum + o.opens, 0) / leaves).toFixed(2),
      tabsLoopHeldMaxMs: Math.round(Math.max(...opened.map((o) => o.loopDelayMaxMs))),
      edgeStartCpuS: +edgeStartCpuS.toFixed(2),
      edgeIdleCpuPct: +cpu(m0, m1).toFixed(1),
      leafIdleCpuMsPerS: +((tabsCpu * 10) / leaves).toFixed(3),
      changeP50Ms: +pct(lat, 50).toFixed(1),
      changeP99Ms: +pct(lat, 99).toFixed(1),
      changeMaxMs: +Math.max(...lat).toFixed(1),
      firstInProcessP50Ms: +pct(firstInProcess, 50).toFixed(1),
      firstInProcessP99Ms: +pct(firstInProcess, 99).toFixed(1),
      lastInProcessP50Ms: +pct(lastInProcess, 50).toFixed(1),
      delivered: lat.length / (changes * leaves),
      // p50/max of each change in ms; * when the edge sent a heartbeat down while it spread.
      perChange: perChange.join(' '),
      warmupPerChange: warmupPerChange.join(' '),
      // Includes the 100 ms pauses between changes (heartbeats, idle): compare with idle CPU.
      edgeCpuPerChangeMs: +((cm1.cpuUs - cm0.cpuUs) / changes / 1000).toFixed(1),
      edgeHeartbeatsWhileChanging: (cm1.sent.HEARTBEAT ?? 0) - (cm0.sent.HEARTBEAT ?? 0),
      changePhaseS: +((cm1.t - cm0.t) / 1e6).toFixed(2),
      tabCpuPerLeafPerChangeUs: Math.round(tabsChangeCpuUs / changes / leaves),
      edgeOwnCpuPerChangeMs: +(edgeOwnUs / 1000).toFixed(1),
      tabsOwnCpuPerChangeMs: +(tabsOwnUs / 1000).toFixed(1),
      cpuFloorMs: +((edgeOwnUs + tabsOwnUs) / cores / 1000).toFixed(1),
      cores,
      loadAverage: [loadAtStart, +loadavg()[0].toFixed(1)],
      edgeHeapPerLeafKB: +((h1 - h0) / leaves / 1024).toFixed(1),
      leafProcessHeapPerLeafKB: +(tm1.reduce((s, m) => s + m.heapUsed, 0) / leaves / 1024).toFixed(1),
      refusedBusy: m1.refusedBusy,
      edgeReceived: m1.received,
      edgeWire: m1.wire,
      edgeSent: m1.sent,
    }
  } finally {
    await stopAll(ws)
  }
}

async function main() {
  const args = process.argv.slice(2)
  const opt = (name) => {
    const i = args.indexOf(name)
    return i >= 0 ? args[i + 1] : undefined
  }
  const smoke = args.includes('--smoke')
  const oneByOne = args.includes('--one-by-one')
  const sizes = (opt('--sizes') ?? (smoke ? '20' : '100,200,500,1000'))
    .split(',')
    .map(Number)
    .filter((n) => n > 0)
  for (const leaves of sizes) {
    log(`crowds: root → 1 relay → ${leaves} leaves`)
    console.log(JSON.stringify(await crowd({ leaves, oneByOne, idleMs: smoke ? 500 : 3000 })))
  }
  const wsOpt = opt('--ws')
  if (wsOpt) {
    const [leaves, procs] = wsOpt.split(',').map(Number)
    log(`crowds: edge relay → ${leaves} WebSocket leaves in ${procs} processes`)
    console.log(JSON.stringify(await wsCrowd({ leaves, procs, changes: smoke ? 3 : 20, warmup: smoke ? 1 : 5, idleMs: smoke ? 500 : 3000 })))
  }
  const tree = opt('--tree')
  if (tree) {
    const [relays, leaves] = tree.split(',').map(Number)
    log(`crowds: root → ${relays} relays → ${leaves} leaves each`)
    console.log(JSON.stringify(await crowd({ relays, leaves, oneByOne, idleMs: smoke ? 500 : 3000 })))
  }
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
