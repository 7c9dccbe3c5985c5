import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { encodeMessage, Endpoint, Kind, newEndpointId } from '@zinc/core'
import { ZmqTransport } from '@zinc/transport-zmq'
import { killAll, runZinc, startHost, zinc } from './helpers.js'

const cleanups: Array<() => Promise<unknown>> = []

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {})
  await killAll()
})

/** A port nothing listens on (bound by the OS, then released). */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as { port: number }
  await new Promise((r) => server.close(r))
  return port
}

describe('zinc host + tail + stats', () => {
  it('tail prints the sequenced fragment of a real client, stats shows the counters, SIGTERM exits 0', async () => {
    const { host, inbound, outbound, stats } = await startHost()
    expect(inbound).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/)
    expect(outbound).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/)
    expect(stats).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)

    const tail = zinc(['tail', outbound])
    const tailJson = zinc(['tail', outbound, '--json', '--doc', 'board-1'])
    // A bound node heartbeats on `c`: once a tail prints that it receives, its subscription is live.
    await Promise.all([tail.waitFor(/receiving from/, 'stderr'), tailJson.waitFor(/receiving from/, 'stderr')])
    await tail.waitFor(/ c HEARTBEAT /)

    const transport = new ZmqTransport()
    cleanups.push(() => transport.close())
    const client = await Endpoint.start({ transport, join: { inbound, outbound } })
    cleanups.push(() => client.close())
    const doc = await client.open<{ shapes: Record<string, { x: number; y: number }> }>('board-1', { initial: { shapes: {} } })
    doc.change((d) => {
      d.shapes.s1 = { x: 10, y: 20 }
    })
    await doc.synced()

    const line = await tail.waitFor(/FRAGMENT doc=board-1/)
    expect(line).toMatch(/ d\/board-1 FRAGMENT doc=board-1 seq=1 origin=[0-9a-f]{8} \d+B add shapes\/s1=\{"x":10,"y":20\}$/)
    expect(line).toContain(`origin=${client.id.slice(0, 8)}`)

    const json = JSON.parse(await tailJson.waitFor(/"kind":"FRAGMENT"/))
    expect(json).toMatchObject({ topic: 'd/board-1', kind: 'FRAGMENT', doc: 'board-1', seq: 1, clientSeq: 1, origin: client.id })
    expect(json.summary).toBe('add shapes/s1={"x":10,"y":20}')
    // --doc shows that document's topic only: no heartbeats.
    expect(tailJson.stdout.every((l) => JSON.parse(l).topic === 'd/board-1')).toBe(true)

    const result = await runZinc(['stats', stats, '--json'])
    expect(result.code, result.stderr).toBe(0)
    const snapshot = JSON.parse(result.stdout)
    expect(snapshot).toMatchObject({ role: 'host', addresses: { inbound, outbound } })
    expect(snapshot.stats.sequenced).toBeGreaterThanOrEqual(1)
    expect(snapshot.stats.docs['board-1']).toBe(1)
    expect(snapshot.stats.receivedByKind.FRAGMENT).toBeGreaterThanOrEqual(1)
    expect(snapshot.peers.map((p: { id: string }) => p.id)).toContain(client.id)

    const text = await runZinc(['stats', stats])
    expect(text.stdout).toMatch(/counters\s+sent \d+\s+received \d+/)
    expect(text.stdout).toContain('board-1@1')

    const metrics = await (await fetch(`${stats}/metrics`)).text()
    expect(metrics).toMatch(/^zinc_sequenced_total 1$/m)
    expect(metrics).toMatch(/^zinc_document_seq\{doc="board-1"\} 1$/m)
    expect(metrics).toMatch(/^zinc_messages_by_kind_total\{direction="received",kind="FRAGMENT"\} \d+$/m)

    const fromHeartbeats = await runZinc(['stats', outbound, '--json'])
    expect(fromHeartbeats.code, fromHeartbeats.stderr).toBe(0)
    expect(JSON.parse(fromHeartbeats.stdout)).toMatchObject({ endpoint: snapshot.endpoint, heads: [{ doc: 'board-1', seq: 1 }] })

    // Every log line carries the endpoint id and the role.
    const logs = host.stderr.map((l) => JSON.parse(l) as { endpoint?: string; role?: string; msg: string })
    expect(logs.length).toBeGreaterThan(0)
    for (const entry of logs) expect(entry).toMatchObject({ endpoint: snapshot.endpoint, role: 'host' })

    await client.close()
    host.kill('SIGTERM')
    expect((await host.exited).code).toBe(0)
    expect(host.stderr.some((l) => JSON.parse(l).msg === 'stopped')).toBe(true)
  })

  it('a relay joins the host, shows up in its roster, and stops on SIGINT with 0', async () => {
    const { host, inbound, outbound, stats } = await startHost()
    const relay = zinc(['relay', '--join', `${inbound},${outbound}`, '--bind', 'tcp://127.0.0.1:*,*', '--priority', '5', '--log-format', 'json'])
    const header = await relay.waitFor(/^zinc relay /)
    expect(header).toMatch(/\(relay\)$/) // a relay, not "(client)", before any child joins
    const relayId = header.split(' ')[2]!
    await relay.waitFor(/^outbound:/)
    const result = await runZinc(['stats', stats, '--json'])
    const snapshot = JSON.parse(result.stdout)
    expect(snapshot.peers).toContainEqual(expect.objectContaining({ id: relayId, priority: 5 }))
    relay.kill('SIGINT')
    expect((await relay.exited).code).toBe(0)
    host.kill('SIGTERM')
    expect((await host.exited).code).toBe(0)
  })

  it('--data opens the LMDB store and releases it on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'zinc-cli-data-'))
    cleanups.push(() => rm(dir, { recursive: true, force: true }))
    const first = await startHost(['--data', dir])
    await first.host.waitFor(/"msg":"storage opened"/, 'stderr')
    first.host.kill('SIGTERM')
    expect((await first.host.exited).code).toBe(0)
    // The store was closed (its lock released): a new host opens the same directory.
    const second = await startHost(['--data', dir])
    await second.host.waitFor(/"msg":"storage opened"/, 'stderr')
    second.host.kill('SIGTERM')
    const exit = await second.host.exited
    expect(exit, second.host.stderr.join('\n')).toEqual({ code: 0, signal: null })
  })

  it('tail prints bad frames and keeps going', async () => {
    const transport = new ZmqTransport()
    cleanups.push(() => transport.close())
    const pub = await transport.pub('tcp://127.0.0.1:*')
    const tail = zinc(['tail', pub.address])
    const good = encodeMessage({ kind: Kind.HEARTBEAT, origin: newEndpointId(), epoch: 1 })
    let i = 0
    // A publisher that keeps talking: a SUB only receives once its subscription has arrived.
    const timer = setInterval(() => {
      void pub.send('c', i++ % 2 === 0 ? new Uint8Array([0xff, 0xff, 0xff]) : good).catch(() => {})
    }, 20)
    cleanups.push(async () => clearInterval(timer))
    await tail.waitFor(/bad frame: /)
    const badIndex = tail.stdout.findIndex((l) => /bad frame: /.test(l))
    await tail.waitFor(/ c HEARTBEAT /, 'stdout', badIndex + 1)
    expect(tail.running).toBe(true)
  })
})

describe('zinc, the small commands', () => {
  it('keygen prints two 40-character Z85 keys', async () => {
    const { code, stdout } = await runZinc(['keygen'])
    expect(code).toBe(0)
    const m = /^public: (\S{40})\nsecret: (\S{40})$/.exec(stdout)
    expect(m).not.toBeNull()
    for (const key of [m![1]!, m![2]!]) expect(key).toMatch(/^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/)
    expect(m![1]).not.toBe(m![2])
    const json = JSON.parse((await runZinc(['keygen', '--json'])).stdout)
    expect(json.publicKey).toHaveLength(40)
    expect(json.secretKey).toHaveLength(40)
  })

  it('--help lists examples, for the program and every command', async () => {
    const top = await runZinc(['--help'])
    expect(top.code).toBe(0)
    expect(top.stdout).toContain('Examples:')
    for (const command of ['host', 'relay', 'tail', 'stats', 'keygen', 'bench']) {
      const { code, stdout } = await runZinc([command, '--help'])
      expect(code).toBe(0)
      expect(stdout).toContain(`Usage: zinc ${command}`)
      expect(stdout).toContain('Examples:')
      expect(stdout).toContain(`$ zinc ${command}`)
    }
  })

  it('an unknown flag fails with a helpful error', async () => {
    const { code, stderr } = await runZinc(['host', '--bnid', 'tcp://127.0.0.1:*,*'])
    expect(code).not.toBe(0)
    // One line: what is wrong, the likely fix, the right usage.
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect(stderr).toContain("unknown option '--bnid'")
    expect(stderr).toContain('did you mean --bind?')
    expect(stderr).toContain('Usage: zinc host')
    expect(stderr).toContain('zinc host --help')
    const relay = await runZinc(['relay', '--join', 'tcp://127.0.0.1:7000,7001'])
    expect(relay.stderr.trim().split('\n')).toHaveLength(1)
    // --join is required unless --coordinator etcd://… (a sharded relay): only --bind always is.
    expect(relay.stderr).toContain('Usage: zinc relay --bind <in,out> [options]')
    const unknown = await runZinc(['hots'])
    expect(unknown.stderr.trim()).toMatch(/^zinc: unknown command 'hots' \(did you mean host\?\)\. Usage: zinc <command> \[options\]/)
  })

  it('a bad address says what an address looks like', async () => {
    const { code, stderr } = await runZinc(['host', '--bind', 'tcp://127.0.0.1:99999,7001'])
    expect(code).not.toBe(0)
    expect(stderr).toMatch(/Bad address .*outside 1-65535.*Use tcp:\/\/HOST:PORT/)
    const relay = await runZinc(['relay', '--join', 'tcp://127.0.0.1:7000', '--bind', '127.0.0.1:*,*'])
    expect(relay.code).not.toBe(0)
    expect(relay.stderr).toContain('--join needs an inbound and an outbound address')
  })

  it('an unreachable node is reported within the timeout', async () => {
    const port = await freePort()
    const tail = await runZinc(['tail', `tcp://127.0.0.1:${port}`, '--timeout-ms', '300'])
    expect(tail.code).toBe(1)
    expect(tail.stderr).toContain('Nothing arrived from')
    const stats = await runZinc(['stats', `http://127.0.0.1:${port}`, '--timeout-ms', '300'])
    expect(stats.code).toBe(1)
    expect(stats.stderr).toContain('Cannot reach the stats server')
    expect(stats.stderr).toContain('--stats-port')
  })

  it('--curve-secret without --curve-public is refused before anything starts', async () => {
    const { code, stderr } = await runZinc(['host', '--bind', 'tcp://127.0.0.1:*,*', '--curve-secret', 'x'.repeat(40)])
    expect(code).toBe(1)
    expect(stderr).toContain('--curve-secret and --curve-public together')
  })
})
