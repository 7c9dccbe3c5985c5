import { afterEach, describe, expect, it } from 'vitest'
import { Context } from 'zeromq'
import { InvalidArgumentError } from '@zinc/core'
import type { PubChannel, PullChannel } from '@zinc/core'
import { ZmqTransport, generateKeyPair, type AuthRefusal, type HandshakeFailure, type ZmqTransportOptions } from '../src/index.js'
import { bytes, drain, ipcAddress, removeIpcFiles, text, waitFor } from './helpers.js'

const transports: ZmqTransport[] = []
function transport(options?: ZmqTransportOptions): ZmqTransport {
  const t = new ZmqTransport(options)
  transports.push(t)
  return t
}

afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()))
  removeIpcFiles()
})

const server = generateKeyPair()
const allowed = generateKeyPair()
const stranger = generateKeyPair()
const impostor = generateKeyPair()

function serverTransport(): { t: ZmqTransport; refusals: AuthRefusal[]; failures: HandshakeFailure[] } {
  const t = transport({ curve: { server: { ...server, allowedClientKeys: [allowed.publicKey] } } })
  const refusals: AuthRefusal[] = []
  const failures: HandshakeFailure[] = []
  t.on('auth-refused', (r) => refusals.push(r))
  t.on('handshake-failed', (f) => failures.push(f))
  return { t, refusals, failures }
}

function clientTransport(keys = allowed, serverPublicKey = server.publicKey) {
  const t = transport({ curve: { client: { ...keys, serverPublicKey } } })
  const failures: HandshakeFailure[] = []
  t.on('handshake-failed', (f) => failures.push(f))
  return { t, failures }
}

describe('CURVE keys', () => {
  it('generates distinct Z85 key pairs', () => {
    const a = generateKeyPair()
    const b = generateKeyPair()
    for (const key of [a.publicKey, a.secretKey, b.publicKey]) expect(key).toMatch(/^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/)
    expect(a.publicKey).not.toBe(b.publicKey)
    expect(a.publicKey).not.toBe(a.secretKey)
  })

  it('refuses malformed keys at construction, without echoing them', () => {
    expect(() => new ZmqTransport({ curve: { server: { publicKey: 'short', secretKey: server.secretKey } } })).toThrow(InvalidArgumentError)
    const error = (() => {
      try {
        new ZmqTransport({ curve: { client: { ...allowed, serverPublicKey: 'x'.repeat(39) } } })
      } catch (err) {
        return err as Error
      }
      return undefined
    })()
    expect(error).toBeInstanceOf(InvalidArgumentError)
    expect(error?.message).not.toContain('x'.repeat(39))
  })

  it('needs a server key to connect as a CURVE client', async () => {
    const t = transport({ curve: { client: allowed } })
    await expect(t.push('tcp://127.0.0.1:1')).rejects.toBeInstanceOf(InvalidArgumentError)
    const push = await t.push('tcp://127.0.0.1:1', { serverPublicKey: server.publicKey })
    expect(push.closed).toBe(false)
  })
})

describe('CURVE with a ZAP allow-list', () => {
  for (const [scheme, address] of [
    ['tcp', () => 'tcp://127.0.0.1:*'],
    ['ipc', () => ipcAddress()],
  ] as const) {
    it(`admits an allowed client through PUSH→PULL and PUB→SUB (${scheme})`, async () => {
      const host = serverTransport()
      const client = clientTransport()
      const pull = await host.t.pull(address())
      const pub = await host.t.pub(address())
      const push = await client.t.push(pull.address)
      const sub = await client.t.sub(pub.address)
      sub.subscribe('d/')
      const pulled = drain(pull)
      const subbed = drain(sub)
      await push.send(bytes('secret change'))
      await waitFor(() => pulled.frames.length === 1, 'the pushed message')
      expect(text(pulled.frames[0]?.[0])).toBe('secret change')
      const timer = setInterval(() => void pub.send('d/doc', bytes('secret fragment')), 10)
      try {
        await waitFor(() => subbed.frames.length > 0, 'a published message')
      } finally {
        clearInterval(timer)
      }
      expect(text(subbed.frames[0]?.[1])).toBe('secret fragment')
      expect(host.t.stats().authAccepted).toBeGreaterThanOrEqual(2)
      expect(host.t.stats().authRefused).toBe(0)
      expect(host.refusals).toEqual([])
      expect(client.failures).toEqual([])
    })
  }

  it('refuses a client with an unknown key: nothing delivered, the refusal visible on both sides', async () => {
    const host = serverTransport()
    const pull = await host.t.pull('tcp://127.0.0.1:*')
    const pub = await host.t.pub('tcp://127.0.0.1:*')
    const pulled = drain(pull)
    const bad = clientTransport(stranger)
    const badPush = await bad.t.push(pull.address)
    const badSub = await bad.t.sub(pub.address)
    badSub.subscribe('')
    const badSubbed = drain(badSub)
    await badPush.send(bytes('from stranger'))

    await waitFor(() => host.refusals.length >= 2, 'the ZAP refusals')
    expect(host.refusals[0]).toMatchObject({ clientKey: stranger.publicKey, mechanism: 'CURVE', reason: expect.stringContaining('allowedClientKeys') })
    expect(host.t.stats().authRefused).toBeGreaterThanOrEqual(2)
    await waitFor(() => bad.failures.some((f) => f.channel === 'push') && bad.failures.some((f) => f.channel === 'sub'), "the client's handshake failures")
    expect(bad.failures[0]).toMatchObject({ side: 'client', code: 'ZAP_400', reason: expect.stringContaining('allowedClientKeys') })

    await expectOnlyAllowedTraffic(pull, pub, pulled.frames, badSubbed.frames)
  })

  it('refuses a client without CURVE: the mechanism mismatch is visible on both sides', async () => {
    const host = serverTransport()
    const pull = await host.t.pull('tcp://127.0.0.1:*')
    const pub = await host.t.pub('tcp://127.0.0.1:*')
    const pulled = drain(pull)
    const plain = transport()
    const plainFailures: HandshakeFailure[] = []
    plain.on('handshake-failed', (f) => plainFailures.push(f))
    const plainPush = await plain.push(pull.address)
    const plainSub = await plain.sub(pub.address)
    plainSub.subscribe('')
    const plainSubbed = drain(plainSub)
    await plainPush.send(bytes('from plain'))

    // Either side may detect the mismatch first and hang up; both see a failure naming CURVE.
    await waitFor(() => host.failures.length > 0, 'the server to see the failed handshake')
    expect(host.failures[0]).toMatchObject({ side: 'server', reason: expect.stringContaining('CURVE') })
    await waitFor(() => plainFailures.length > 0, 'the plain client to learn of the failure')
    expect(plainFailures[0]).toMatchObject({ side: 'client', reason: expect.stringContaining('CURVE') })

    await expectOnlyAllowedTraffic(pull, pub, pulled.frames, plainSubbed.frames)
  })

  it('tells a client that expects the wrong server key, and delivers nothing', async () => {
    const host = serverTransport()
    const pull = await host.t.pull('tcp://127.0.0.1:*')
    const pub = await host.t.pub('tcp://127.0.0.1:*')
    const pulled = drain(pull)
    const confused = clientTransport(allowed, impostor.publicKey)
    const push = await confused.t.push(pull.address)
    const sub = await confused.t.sub(pub.address)
    sub.subscribe('')
    const subbed = drain(sub)
    await push.send(bytes('to the wrong server'))

    await waitFor(() => confused.failures.length > 0, 'the client to learn of the failure')
    expect(confused.failures[0]).toMatchObject({ side: 'client', reason: expect.stringContaining('serverPublicKey') })
    await waitFor(() => host.failures.length > 0, 'the server to see the failure')
    expect(confused.t.stats().handshakeFailures).toBeGreaterThan(0)

    await expectOnlyAllowedTraffic(pull, pub, pulled.frames, subbed.frames)
  })

  it('serves two CURVE transports sharing one context, each with its own allow-list', async () => {
    const context = new Context({ blocky: false })
    const other = generateKeyPair()
    const a = transport({ context, curve: { server: { ...server, allowedClientKeys: [allowed.publicKey] } } })
    const b = transport({ context, curve: { server: { ...server, allowedClientKeys: [other.publicKey] } } })
    const refusedByB: AuthRefusal[] = []
    b.on('auth-refused', (r) => refusedByB.push(r))
    const pullA = await a.pull('tcp://127.0.0.1:*')
    const pullB = await b.pull('tcp://127.0.0.1:*')
    const readA = drain(pullA)
    const readB = drain(pullB)
    const client = clientTransport(allowed)
    await (await client.t.push(pullA.address)).send(bytes('to a'))
    await (await client.t.push(pullB.address)).send(bytes('to b'))
    await waitFor(() => readA.frames.length === 1 && refusedByB.length > 0, 'a to admit and b to refuse')
    expect(refusedByB[0]?.clientKey).toBe(allowed.publicKey)
    expect(readB.frames).toEqual([])
  })
})

/**
 * Proves a refused peer got nothing through without waiting on a clock: an allowed client
 * then sends a marker over the same channels, and the marker must be all that arrived.
 */
async function expectOnlyAllowedTraffic(pull: PullChannel, pub: PubChannel, pulled: Uint8Array[][], refusedSubReceived: Uint8Array[][]): Promise<void> {
  const good = clientTransport()
  const push = await good.t.push(pull.address)
  const sub = await good.t.sub(pub.address)
  sub.subscribe('')
  const subbed = drain(sub)
  await push.send(bytes('marker'))
  await waitFor(() => pulled.length > 0, 'the allowed marker')
  expect(pulled.map((f) => text(f[0]))).toEqual(['marker'])
  const timer = setInterval(() => void pub.send('m', bytes('published marker')), 10)
  try {
    await waitFor(() => subbed.frames.length > 0, 'the allowed subscriber to receive')
  } finally {
    clearInterval(timer)
  }
  expect(refusedSubReceived).toEqual([])
}
