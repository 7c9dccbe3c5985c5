/**
 * CURVE and ZAP at the Endpoint level, over tcp: only clients whose public key the root allows,
 * and that know the root's server key, can join, read and change documents. Everyone else is
 * refused before a single Zinc message reaches the root, and the refusal is visible. Then join
 * authentication (`authenticate` + `token`) and authorization (`authorize`) over zmq.
 */
import { AccessDeniedError, ChangeRejectedError, encodeMessage, Endpoint, JoinRefusedError, JoinTimeoutError, Kind, newEndpointId, type DocId } from '@zinc/core'
import { generateKeyPair, ZmqTransport, type AuthRefusal, type HandshakeFailure } from '@zinc/transport-zmq'
import { afterEach, describe, expect, it } from 'vitest'
import { waitFor } from './helpers.js'
import { LOOPBACK, Resources, ZMQ_FAST } from './zmq-helpers.js'

let res = new Resources()
afterEach(async () => {
  await res.close()
  res = new Resources()
})

type Board = { items: Record<string, number> }

/** A transport's refusals and handshake failures, as they happen. */
function watch(transport: ZmqTransport): { refused: AuthRefusal[]; failed: HandshakeFailure[] } {
  const seen = { refused: [] as AuthRefusal[], failed: [] as HandshakeFailure[] }
  transport.on('auth-refused', (r) => seen.refused.push(r))
  transport.on('handshake-failed', (f) => seen.failed.push(f))
  return seen
}

describe('CURVE between endpoints', () => {
  async function securedRoot() {
    const rootKeys = generateKeyPair()
    const allowedKeys = generateKeyPair()
    const transport = res.transport({ curve: { server: { ...rootKeys, allowedClientKeys: [allowedKeys.publicKey] } } })
    const seen = watch(transport)
    // Every HELLO from an endpoint that is not a child yet passes through authenticate: a log of who got through.
    const hellos: string[] = []
    const root = await res.endpoint({ transport, authenticate: ({ endpoint }) => (hellos.push(endpoint), true) })
    const doc = await root.open<Board>('board', { initial: { items: { a: 1 } } })
    return { rootKeys, allowedKeys, transport, seen, root, doc, hellos }
  }

  it('an allowed client joins over CURVE and syncs a document both ways', async () => {
    const { rootKeys, allowedKeys, transport: rootTransport, root, doc } = await securedRoot()
    // The client binds too (it could host children), securing its own side with the same key pair.
    const clientTransport = res.transport({
      curve: { server: { ...allowedKeys, allowedClientKeys: [] }, client: { ...allowedKeys, serverPublicKey: rootKeys.publicKey } },
    })
    const client = await res.endpoint({ transport: clientTransport, join: root.addresses })
    expect(client.role).toBe('client')
    const clientDoc = await client.open<Board>('board')
    expect(clientDoc.state).toEqual({ items: { a: 1 } })

    await clientDoc.change((s) => void (s.items.b = 2))!.confirmed
    doc.change((s) => void (s.items.c = 3))
    await waitFor(() => clientDoc.seq === doc.seq && clientDoc.state.items.c === 3, 'the root change reached the client')
    expect(clientDoc.state).toEqual(doc.state)
    expect(doc.state).toEqual({ items: { a: 1, b: 2, c: 3 } })
    // Both connections of the client (PUSH to inbound, SUB to outbound) went through ZAP.
    expect(rootTransport.stats().authAccepted).toBeGreaterThanOrEqual(2)
    expect(rootTransport.stats().authRefused).toBe(0)
    expect(root.stats().sequenced).toBe(2) // the client's change and the root's own
  })

  it('an admitted client cannot speak as another admitted one: its connection is its identity', async () => {
    const { rootKeys, allowedKeys, root, doc } = await securedRoot()
    const client = { curve: { client: { ...allowedKeys, serverPublicKey: rootKeys.publicKey } } }
    const alice = await res.endpoint({ transport: res.transport(client), bind: undefined, join: root.addresses })
    const aliceDoc = await alice.open<Board>('board')
    // Same key, its own connection: a raw PUSH of an admitted process, claiming to be Alice.
    const push = await res.transport(client).push(root.addresses.inbound)
    const before = root.stats().forged
    const forged = (clientSeq: number) =>
      encodeMessage({
        kind: Kind.FRAGMENT,
        origin: alice.id,
        doc: 'board' as DocId,
        clientSeq,
        epoch: root.epoch,
        payload: new TextEncoder().encode('[{"op":"add","path":["items","forged"],"value":1}]'),
      })
    await waitFor(async () => {
      await push.send(forged(1))
      return root.stats().forged > before
    }, 'the forged change refused and counted')
    await aliceDoc.change((s) => void (s.items.real = 1))!.confirmed
    await waitFor(() => doc.state.items.real === 1, 'Alice’s own change at the root')
    expect(doc.state.items.forged).toBeUndefined()
    expect(root.stats().refusedByCode.ERR_IDENTITY).toBeGreaterThan(0)
  })

  // Each refused client: its transport options, and what the refusal must look like on either side.
  const refusedClients: Array<{
    name: string
    curve: (keys: {
      rootKeys: { publicKey: string }
      unknown: { publicKey: string; secretKey: string }
      allowedKeys: { publicKey: string; secretKey: string }
    }) => ConstructorParameters<typeof ZmqTransport>[0]
    visible: RegExp
  }> = [
    {
      name: 'an unknown client key',
      curve: ({ rootKeys, unknown }) => ({ curve: { client: { ...unknown, serverPublicKey: rootKeys.publicKey } } }),
      visible: /not in (the server's )?allowedClientKeys/,
    },
    {
      name: 'no CURVE at all',
      curve: () => ({}),
      visible: /CURVE/,
    },
    {
      name: 'the wrong server key',
      curve: ({ allowedKeys, unknown }) => ({ curve: { client: { ...allowedKeys, serverPublicKey: unknown.publicKey } } }),
      visible: /serverPublicKey|server key|could not be decrypted/,
    },
  ]

  for (const refused of refusedClients) {
    it(`a client with ${refused.name} can neither join nor inject a change, and the refusal is visible`, async () => {
      const { rootKeys, allowedKeys, transport: rootTransport, seen: rootSeen, root, doc, hellos } = await securedRoot()
      const before = { seq: doc.seq, state: doc.state, stats: root.stats() }
      const unknown = generateKeyPair()
      const transport = res.transport(refused.curve({ rootKeys, unknown, allowedKeys }))
      const clientSeen = watch(transport)

      const id = newEndpointId()
      const start = Endpoint.start({ ...ZMQ_FAST, id, joinTimeoutMs: 1500, transport, bind: LOOPBACK, join: root.addresses })
      const error = await start.then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(JoinTimeoutError)
      expect((error as Error).message).toContain(root.addresses.inbound)

      // Inject: a well-formed FRAGMENT straight from this client's transport to the root's inbound.
      const push = await transport.push(root.addresses.inbound)
      res.add(() => push.close())
      const patch = new TextEncoder().encode(JSON.stringify([{ op: 'add', path: ['items', 'evil'], value: 666 }]))
      // (Not awaited: ZeroMQ holds a PUSH message until some connection completes its handshake, which never happens.)
      for (let i = 1; i <= 3; i++) void push.send(encodeMessage({ kind: Kind.FRAGMENT, origin: id, doc: 'board' as DocId, clientSeq: i, epoch: root.epoch, payload: patch })).catch(() => {})
      // The refusal is visible, on the root's side and/or the client's, with a reason; wait for
      // it to repeat after the sends above (ZeroMQ keeps reconnecting and being refused).
      const all = () => [...rootSeen.refused.map((r) => r.reason), ...rootSeen.failed.map((f) => f.reason), ...clientSeen.failed.map((f) => f.reason)]
      const seenAtSend = all().length
      await waitFor(() => all().length >= seenAtSend + 2, 'the injecting connection refused again')
      expect(
        all().some((reason) => refused.visible.test(reason)),
        all().join('\n'),
      ).toBe(true)
      const counted = rootTransport.stats().authRefused + rootTransport.stats().handshakeFailures + transport.stats().handshakeFailures
      expect(counted).toBeGreaterThan(0)

      // An allowed client's change goes through after the injection attempt: a barrier on the root.
      const goodTransport = res.transport({ curve: { client: { ...allowedKeys, serverPublicKey: rootKeys.publicKey } } })
      const good = await res.endpoint({ transport: goodTransport, bind: undefined, join: root.addresses })
      const goodDoc = await good.open<Board>('board')
      await goodDoc.change((s) => void (s.items.ok = 1))!.confirmed

      const after = root.stats()
      expect(doc.state).toEqual({ ...before.state, items: { ...before.state.items, ok: 1 } })
      expect(doc.seq).toBe(before.seq + 1)
      expect(after.sequenced).toBe(before.stats.sequenced + 1)
      expect(after.rejected).toBe(before.stats.rejected)
      expect(after.badFrames).toBe(before.stats.badFrames)
      expect(after.dropped).toBe(before.stats.dropped)
      // Not a single message of the refused client reached the root: none of its HELLOs (it said
      // HELLO every 50 ms for 1.5 s), and its FRAGMENTs would have been counted as dropped (from a stranger).
      expect(hellos).toEqual([good.id])
      expect(hellos).not.toContain(id)
      expect(root.peers.map((p) => p.id)).toEqual([good.id])
    })
  }
})

describe('join authentication and authorization over zmq', () => {
  it('authenticate admits the right token and refuses another with JoinRefusedError', async () => {
    const seenTokens: string[] = []
    const root = await res.endpoint({
      authenticate: ({ token }) => {
        seenTokens.push(token)
        return token === 's3cret' || 'unknown token'
      },
    })
    const good = await res.endpoint({ join: root.addresses, token: 's3cret' })
    expect(good.role).toBe('client')
    const error = await res.endpoint({ join: root.addresses, token: 'guess', joinTimeoutMs: 5000 }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(JoinRefusedError)
    expect((error as Error).message).toContain(root.addresses.inbound)
    expect((error as Error).message).toContain('unknown token')
    const noToken = await res.endpoint({ join: root.addresses, joinTimeoutMs: 5000 }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(noToken).toBeInstanceOf(JoinRefusedError)
    expect(seenTokens).toContain('s3cret')
    expect(seenTokens).toContain('guess')
    expect(root.peers.map((p) => p.id)).toEqual([good.id])
  })

  it('authorize refuses an open with AccessDeniedError and a change by rejecting its fragment', async () => {
    const root = await res.endpoint({
      authorize: ({ doc, action }) => {
        if (doc === 'secret') return 'the secret document is closed'
        if (doc === 'readonly' && action === 'change') return 'read-only document'
        return true
      },
    })
    const rootSecret = await root.open<Board>('secret', { initial: { items: { hidden: 1 } } })
    const rootReadonly = await root.open<Board>('readonly', { initial: { items: { a: 1 } } })
    const client = await res.endpoint({ join: root.addresses })

    const denied = await client.open<Board>('secret').then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(denied).toBeInstanceOf(AccessDeniedError)
    expect((denied as Error).message).toMatch(/secret.*the secret document is closed/)

    const doc = await client.open<Board>('readonly')
    expect(doc.state).toEqual({ items: { a: 1 } })
    const rejections: Error[] = []
    doc.onRejected((e) => rejections.push(e))
    const fragment = doc.change((s) => void (s.items.a = 2))!
    expect(doc.state.items.a).toBe(2) // optimistic
    await expect(fragment.confirmed).rejects.toBeInstanceOf(ChangeRejectedError)
    await expect(fragment.confirmed).rejects.toThrow(/read-only document/)
    await waitFor(() => doc.pendingCount === 0 && doc.state.items.a === 1, 'the refused change rolled back')
    expect(rejections).toHaveLength(1)
    expect(rootReadonly.state).toEqual({ items: { a: 1 } })
    expect(rootSecret.state).toEqual({ items: { hidden: 1 } })
    expect(root.stats().rejected).toBe(1)
    expect(root.stats().sequenced).toBe(0)
  })
})
