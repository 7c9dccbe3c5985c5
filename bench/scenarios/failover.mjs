// (6) Failover: SIGKILL of the root → ALL survivors synced on the new root: exactly one survivor
// is host, every other one is attached again (not lost) under the same, raised epoch, every
// survivor has the same seq and state digest and nothing pending. Every survivor edits (a
// trickle of small changes) until the kill, so some changes are in flight when the root dies.
// Survivors bind tcp so that they are promotable. Median and worst of N kills, with default
// settings (heartbeat 250 ms, peer timeout 1500 ms) and fast ones (100 / 500 ms).
import { row, skipRow, sleep, spawnWorker, stopAll, median } from './common.mjs'

const SURVIVORS = 4

function synced(states, epoch0) {
  const hosts = states.filter((s) => s.role === 'host')
  if (hosts.length !== 1) return false
  const h = hosts[0]
  if (!(h.epoch > epoch0)) return false
  return states.every((s) => !s.lost && s.epoch === h.epoch && s.seq === h.seq && s.pending === 0 && s.digest === h.digest)
}

/**
 * One kill. `etcd` ({ endpoint, prefix, leaseTtlMs }): every member (root included) is elected
 * on etcd instead of joining (the first one started leads), for scenarios/failover-etcd.mjs.
 */
export async function once({ heartbeatMs, peerTimeoutMs, etcd }) {
  const ws = []
  const timing = heartbeatMs ? { heartbeatMs, peerTimeoutMs } : {}
  try {
    const root = etcd ? await spawnWorker('zinc-client', { etcd, bind: true, ...timing }) : await spawnWorker('zinc-root', timing)
    ws.push(root)
    await root.call('open', { doc: 'f', initial: { kind: 'empty' } })
    // Join one after another: the succession order is the join order.
    const clients = []
    for (let i = 0; i < SURVIVORS; i++) {
      const c = await spawnWorker('zinc-client', etcd ? { etcd, bind: true, ...timing } : { join: root.info.addresses, bind: true, ...timing })
      ws.push(c)
      clients.push(c)
    }
    await Promise.all(clients.map((c) => c.call('open', { doc: 'f' })))
    await Promise.all(clients.map((c) => c.call('watchRoles')))
    await Promise.all(clients.map((c) => c.call('watchSync')))
    await Promise.all(clients.map((c) => c.call('trickle', { rate: 20 })))
    await sleep(Math.max(800, (heartbeatMs ?? 250) * 4)) // let the roster reach everyone
    const before = (await Promise.all(clients.map((c) => c.call('syncState')))).flat()
    const epoch0 = Math.max(...before.map((s) => s.epoch))
    const killedAt = Number(process.hrtime.bigint() / 1000n)
    const killed = root.kill('SIGKILL')
    await Promise.all(clients.map((c) => c.call('halt'))) // stop editing; changes made up to now may be pending
    await killed
    const pendingAtKill = (await Promise.all(clients.map((c) => c.call('syncState')))).flat().reduce((n, s) => n + s.pending, 0)
    const deadline = Date.now() + (peerTimeoutMs ?? 1500) * 4 + 15_000
    let states
    while (Date.now() < deadline) {
      states = (await Promise.all(clients.map((c) => c.call('syncState')))).flat()
      if (synced(states, epoch0)) break
      states = undefined
      await sleep(20)
    }
    const roles = (await Promise.all(clients.map((c) => c.call('roles')))).flat()
    const host = roles.find((r) => r.role === 'host')
    const firstHostMs = host ? (host.t - killedAt) / 1000 : NaN
    if (!states) {
      const last = (await Promise.all(clients.map((c) => c.call('syncState')))).flat()
      return { ok: false, firstHostMs, pendingAtKill, last: last.map(({ role, epoch, seq, pending, lost, digest }) => ({ role, epoch, seq, pending, lost, digest })) }
    }
    const syncedMs = (Math.max(...states.map((s) => s.changedAt)) - killedAt) / 1000
    return { ok: true, syncedMs, firstHostMs, pendingAtKill, seq: states[0].seq, epoch: states[0].epoch }
  } finally {
    await stopAll(ws)
  }
}

async function series(ctx, label, timing, n) {
  const runs = []
  for (let i = 1; i <= n; i++) {
    const r = await once(timing)
    runs.push(r)
    ctx.progress(
      `failover (${label}) ${i}/${n}: ${r.ok ? `all ${SURVIVORS} survivors synced after ${r.syncedMs.toFixed(0)} ms (first host ${r.firstHostMs.toFixed(0)} ms; ${r.pendingAtKill} changes pending at the kill; seq ${r.seq}, epoch ${r.epoch})` : `NOT synced: ${JSON.stringify(r.last)}`}`,
    )
  }
  return runs
}

export async function failover(ctx) {
  const n = ctx.smoke ? 1 : (ctx.failoverN ?? 10)
  const settings = ctx.smoke
    ? [['fast: heartbeat 100 / timeout 500 ms', { heartbeatMs: 100, peerTimeoutMs: 500 }, 1000]]
    : [
        ['fast: heartbeat 100 / timeout 500 ms', { heartbeatMs: 100, peerTimeoutMs: 500 }, 1000],
        ['default: heartbeat 250 / timeout 1500 ms', {}, 2500],
      ]
  const rows = []
  const data = {}
  for (const [label, timing, target] of settings) {
    ctx.progress(`failover: SIGKILL of the root, ${SURVIVORS} bound survivors editing, ${label}, ${n}×`)
    const runs = await series(ctx, label, timing, n)
    data[label] = runs
    const ok = runs.filter((r) => r.ok)
    const name = `failover (SIGKILL root, ${SURVIVORS} survivors, ${label.split(':')[0]})`
    const note = ok.length < runs.length ? `${runs.length - ok.length} of ${runs.length} never synced` : `${runs.length} kills`
    if (ok.length === 0) {
      rows.push(skipRow(name, 'kill → all survivors synced on the new root', `no run synced: ${JSON.stringify(runs[0].last)}`))
      continue
    }
    const syncedMs = ok.map((r) => r.syncedMs)
    const abs = { kind: 'abs', op: '<', value: target }
    rows.push(
      row(name, 'kill → all survivors synced, median', 'ms', median(syncedMs), target, { baselineLabel: 'target', target: abs, note }),
      ok.length < runs.length
        ? { ...skipRow(name, 'kill → all survivors synced, worst', `${runs.length - ok.length} of ${runs.length} runs never synced`), meets: false }
        : row(name, 'kill → all survivors synced, worst', 'ms', Math.max(...syncedMs), target, { baselineLabel: 'target', target: abs, note }),
      row(name, 'kill → first survivor is host, median', 'ms', median(ok.map((r) => r.firstHostMs)), null, { baselineLabel: '' }),
    )
  }
  return { rows, data: { survivors: SURVIVORS, ...data } }
}
