// Measures LmdbStorage: append throughput (1 KiB fragments) under both durability policies, and
// load time of a 100,000-fragment document with and without a snapshot. Run after `npx tsc -b`:
//   node packages/storage-lmdb/bench/append.mjs [dir-under-which-to-measure]
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LmdbStorage } from '../dist/index.js'

const base = process.argv[2] ?? tmpdir()
const origin = '6f1c2b9e-3a4d-4c5e-8f70-112233445566'
const frag = (seq, size = 1024) => ({ seq, origin, clientSeq: seq, envelope: new Uint8Array(size).fill(seq & 255) })
const batchOf = (from, n, size) => Array.from({ length: n }, (_, i) => frag(from + i, size))

async function withStore(options, fn) {
  const dir = mkdtempSync(join(base, 'zinc-bench-'))
  const s = await LmdbStorage.open(dir, options)
  try {
    return await fn(s)
  } finally {
    await s.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function appendRate(options, batch, inFlight, total) {
  return withStore(options, async (s) => {
    let next = 1
    const t0 = performance.now()
    const pending = new Set()
    while (next <= total) {
      const p = s.append('doc', batchOf(next, batch, 1024))
      next += batch
      pending.add(p)
      p.then(() => pending.delete(p))
      if (pending.size >= inFlight) await Promise.race(pending)
    }
    await Promise.all(pending)
    const ms = performance.now() - t0
    return { fragmentsPerSec: Math.round(((next - 1) / ms) * 1000), appendsPerSec: Math.round(((next - 1) / batch / ms) * 1000), msPerAppend: +(ms / ((next - 1) / batch)).toFixed(3) }
  })
}

const rows = []
for (const durability of ['fsync', 'group']) {
  for (const [batch, inFlight, total] of [
    [1, 1, 2_000],
    [1, 64, 20_000],
    [64, 1, 64 * 500],
    [64, 16, 64 * 2_000],
  ]) {
    const r = await appendRate({ durability }, batch, inFlight, total)
    rows.push({ durability, batch, inFlight, ...r })
    console.log(JSON.stringify(rows.at(-1)))
  }
}

await withStore({}, async (s) => {
  for (let seq = 1; seq <= 100_000; seq += 1000) await s.append('big', batchOf(seq, 1000, 1024))
  let t = performance.now()
  const full = await s.load('big')
  const noSnap = performance.now() - t
  await s.writeSnapshot('big', { seq: 99_000, state: new TextEncoder().encode('{}'), clientSeqs: [[origin, 99_000]] })
  t = performance.now()
  const tail = await s.load('big')
  const withSnap = performance.now() - t
  console.log(JSON.stringify({ load100kNoSnapshotMs: +noSnap.toFixed(1), fragments: full.fragments.length, loadWithSnapshotAt99000Ms: +withSnap.toFixed(2), tailFragments: tail.fragments.length }))
})
