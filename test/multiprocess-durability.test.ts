/**
 * A durable root across a crash, as processes over ZeroMQ on loopback tcp (the tree example's
 * `member.js`): the root stores on LMDB and binds fixed ports, so it can come back on the same
 * addresses. Its two clients bind nothing: they cannot be promoted, so when the root dies
 * mid-burst they keep their changes pending and retry the lost parent's address. The root is
 * SIGKILLed and restarted on the same data: every change a client saw acknowledged is there,
 * nothing twice, everyone converges, and the clients resync by catch-up, not a new snapshot.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Proc, type Line, expectReplicasEqual } from './zmq-helpers.js'

// zmq-helpers' Proc runs scripts of examples/dist/cluster/; the member process lives next door.
const MEMBER = '../tree/member.js' as 'client.js'
const LIVENESS = ['--heartbeat', '100', '--peer-timeout', '1000']
const CHANGES = 300

const procs: Proc[] = []
const dirs: string[] = []
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.kill()))
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

function member(name: string, argv: string[]): Proc {
  const p = new Proc(MEMBER, ['--name', name, '--quiet', ...LIVENESS, ...argv], name)
  procs.push(p)
  return p
}

/** A port nothing listens on right now (the kernel's pick, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

function ask(p: Proc, command: string, type: string, timeoutMs = 60_000): Promise<Line> {
  const skip = p.lines.filter((l) => l.type === type).length
  p.send(command)
  return p.next(type, { skip, timeoutMs })
}

const acked = (p: Proc): string[] => p.lines.filter((l) => l.type === 'acked').flatMap((l) => l.tokens as string[])

async function until(p: Proc, predicate: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`${p.label}: timed out waiting for ${what}. Output:\n${p.tail()}`)
    await p.next('__never__', { timeoutMs: 50 }).catch(() => {})
  }
}

describe('a durable root process across a crash', () => {
  it('SIGKILL the LMDB root mid-burst and restart it on the same data and ports: every acknowledged change is there once, clients catch up', { timeout: 180_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'zinc-mp-durable-'))
    dirs.push(dir)
    const bind = { inbound: `tcp://127.0.0.1:${await freePort()}`, outbound: `tcp://127.0.0.1:${await freePort()}` }
    const rootArgs = ['--bind', JSON.stringify(bind), '--storage', dir]
    const root = member('root', rootArgs)
    const ready = await root.next('ready')
    expect(ready.addresses).toEqual(bind)
    const clients = ['c0', 'c1'].map((name) => member(name, ['--leaf', '--join', JSON.stringify(bind)]))
    await Promise.all(clients.map((c) => c.next('ready')))

    clients.forEach((c) => c.send(`go ${CHANGES} 10`))
    await Promise.all(clients.map((c) => until(c, () => acked(c).length >= 30, '30 acknowledged changes')))
    root.child.kill('SIGKILL')
    expect(await root.exit()).toBe('SIGKILL')
    await Promise.all(clients.map((c) => c.next('parent-lost', { timeoutMs: 30_000 })))
    // Everything acknowledged so far was acknowledged by the dead root (nobody else sequences).
    const ackedBeforeRestart = clients.flatMap((c) => acked(c))
    expect(ackedBeforeRestart.length).toBeGreaterThanOrEqual(60)

    const again = member('root-again', rootArgs)
    const readyAgain = await again.next('ready')
    expect(readyAgain.addresses).toEqual(bind)
    const synced = await Promise.all(clients.map((c) => c.next('synced', { timeoutMs: 120_000 })))
    for (const s of synced) expect(s.error, s.name).toBeUndefined()

    const final = await ask(again, 'report', 'report')
    const reports = await Promise.all(clients.map((c) => ask(c, `report ${final.seq}`, 'report')))
    const tokens: string[] = final.state.tokens
    for (const t of ackedBeforeRestart) expect(tokens, `${t} was acknowledged before the crash`).toContain(t)
    expect(new Set(tokens).size, 'nothing twice').toBe(tokens.length)
    // The clients outlived the crash, so everything they made is there (unacknowledged changes were resent).
    const expected = clients.flatMap((c) => Array.from({ length: CHANGES }, (_, i) => `${c.label}#${i}`))
    expect([...tokens].sort()).toEqual([...expected].sort())
    expect(final.seq).toBe(expected.length)
    expect(final.stats.rejected).toBe(0)
    expectReplicasEqual(reports, final)
    for (const r of reports) {
      // One snapshot: the first open. After the restart the root's restored log reached back to
      // the client's seq, so the re-open was answered with a catch-up batch of FRAGMENTS.
      expect(r.stats.receivedByKind.SNAPSHOT, `${r.name}: snapshots received`).toBe(1)
      expect(r.stats.receivedByKind.FRAGMENTS ?? 0, `${r.name}: catch-up batches received`).toBeGreaterThanOrEqual(1)
      // (HELLO is repeated until answered, so a join may be welcomed more than once.)
      expect(r.stats.receivedByKind.WELCOME, `${r.name}: joined the root, then the restarted root`).toBeGreaterThanOrEqual(2)
    }
    // The restarted root served each client's re-open (an OPEN may be repeated before it is served).
    expect(final.stats.served).toBeGreaterThanOrEqual(clients.length)

    for (const p of [again, ...clients]) p.child.kill('SIGTERM')
    expect(await Promise.all([again, ...clients].map((p) => p.exit()))).toEqual([0, 0, 0])
  })
})
