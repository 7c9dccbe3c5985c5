/**
 * A relay serves opens from its own copy, but the root's `authorize` decides (issue #14: "Relays
 * ask the root's authorize, or carry its decisions with a bounded cache, before serving
 * open/read from their own copy"). Over ZeroMQ (root and relay on tcp) and over the WebSocket
 * edge (the canvas demo's shape): a leaf the root denies `read` is refused with
 * ERR_ACCESS_DENIED by a relay that already holds the document, an allowed leaf opens through
 * it, and a revoked permission takes effect at the relay within the root's `accessCacheMs`.
 */
import { AccessDeniedError, Endpoint, Kind, type AccessRequest, type DocId, type EndpointId, type EndpointOptions } from '@zinc/core'
import { afterEach, describe, expect, it } from 'vitest'
import { waitFor } from '../helpers.js'
import { Resources } from '../zmq-helpers.js'
import { RawPeer, startEdge, type Edge } from './edge.js'

/** The root's policy: who may not read `secret`, and every question it was asked. */
function policy() {
  const denied = new Set<EndpointId>()
  const asked: AccessRequest[] = []
  const authorize = (request: AccessRequest) => {
    asked.push(request)
    if (request.doc === 'secret' && request.action === 'read' && denied.has(request.endpoint)) return 'this user may not read "secret"'
    return true
  }
  return { denied, asked, authorize }
}

type Tree = { root: Endpoint; relay: Endpoint; leaf(options?: Partial<EndpointOptions>): Promise<Endpoint> }

/** The shared scenario, over either transport. */
async function deniedReaderIsRefusedAtTheRelay(tree: Tree, rules: ReturnType<typeof policy>): Promise<void> {
  // The relay holds the document (an honest reader opened it through the relay).
  const writer = await tree.leaf()
  const written = await writer.open<{ n: number }>('secret', { initial: { n: 0 } })
  await waitFor(() => tree.relay.stats().docs.secret !== undefined, 'the relay holds "secret"')

  const intruder = await tree.leaf()
  rules.denied.add(intruder.id)
  const refused = await intruder.open('secret').catch((e: unknown) => e)
  expect(refused).toBeInstanceOf(AccessDeniedError)
  expect((refused as AccessDeniedError).code).toBe('ERR_ACCESS_DENIED')
  expect((refused as Error).message).toContain('this user may not read "secret"')
  // The relay asked the root about the intruder itself, and counted the refusal.
  expect(rules.asked.some((r) => r.endpoint === intruder.id && r.action === 'read')).toBe(true)
  expect(tree.relay.stats().refusedByCode.ERR_ACCESS_DENIED).toBeGreaterThanOrEqual(1)
  expect(intruder.stats().docs.secret).toBeUndefined()

  // An allowed reader still opens through the same relay, and honest changes reach it.
  const reader = await tree.leaf()
  const read = await reader.open<{ n: number }>('secret')
  await written.change((s) => void (s.n = 7))!.confirmed
  await waitFor(() => read.state.n === 7, 'an honest change reaches the allowed reader')
  expect(rules.asked.some((r) => r.endpoint === reader.id)).toBe(true)
}

let res: Resources | undefined
let edge: Edge | undefined
afterEach(async () => {
  await res?.close()
  await edge?.close()
  res = edge = undefined
})

async function zmqTree(root: Partial<EndpointOptions>): Promise<Tree> {
  res = new Resources()
  const r = res
  const rootEp = await r.endpoint(root)
  const relay = await r.endpoint({ join: rootEp.addresses! })
  return { root: rootEp, relay, leaf: (options = {}) => r.endpoint({ ...options, bind: undefined, join: relay.addresses! }) }
}

describe('a relay asks the root before serving from its own copy', () => {
  it('over ZeroMQ: a leaf the root denies read is refused ERR_ACCESS_DENIED by a relay holding the document; an allowed leaf opens', async () => {
    const rules = policy()
    await deniedReaderIsRefusedAtTheRelay(await zmqTree({ authorize: rules.authorize }), rules)
  })

  it('over the WebSocket edge: the same, for browser tabs under the demo relay', async () => {
    const rules = policy()
    edge = await startEdge({ root: { authorize: rules.authorize } })
    const e = edge
    await deniedReaderIsRefusedAtTheRelay({ root: e.root, relay: e.relay, leaf: (options) => e.client(options) }, rules)
  })

  it('a revoked permission takes effect at the relay by the next open once accessCacheMs (here 0) has passed', async () => {
    const rules = policy()
    const tree = await zmqTree({ authorize: rules.authorize, accessCacheMs: 0 })
    const holder = await tree.leaf()
    await holder.open('secret', { initial: { n: 0 } })
    const tab = await tree.leaf()
    const doc = await tab.open('secret')
    doc.close()
    rules.denied.add(tab.id)
    await expect(tab.open('secret')).rejects.toBeInstanceOf(AccessDeniedError)
  })

  it('a decision is kept for accessCacheMs: reopening asks the root nothing new, and a refusal stays a refusal', async () => {
    const rules = policy()
    const tree = await zmqTree({ authorize: rules.authorize, accessCacheMs: 600_000 })
    const holder = await tree.leaf()
    await holder.open('secret', { initial: { n: 0 } })
    const tab = await tree.leaf()
    ;(await tab.open('secret')).close()
    const askedAbout = () => rules.asked.filter((r) => r.endpoint === tab.id).length
    const before = askedAbout()
    ;(await tab.open('secret')).close()
    expect(askedAbout()).toBe(before)

    const intruder = await tree.leaf()
    rules.denied.add(intruder.id)
    for (let i = 0; i < 3; i++) await expect(intruder.open('secret')).rejects.toBeInstanceOf(AccessDeniedError)
  })

  it('without an authorize hook at the root, a crowd of tabs opening at the relay costs the root one question per accessCacheMs', async () => {
    // The root's word holds long enough that no expiry falls inside the test, however slow the machine.
    const tree = await zmqTree({ accessCacheMs: 600_000 })
    const holder = await tree.leaf()
    await holder.open('doc', { initial: { n: 0 } })
    const tabs = await Promise.all(Array.from({ length: 5 }, () => tree.leaf()))
    await Promise.all(tabs.map((t) => t.open('doc')))
    // The holder's own open and the crowd's: at most a few questions went up, not one per tab.
    expect(tree.relay.stats().sentByKind.ACCESS ?? 0).toBeLessThanOrEqual(2)
    expect(tree.root.stats().receivedByKind.ACCESS ?? 0).toBeGreaterThanOrEqual(1)
  })

  it('a root authorize that hangs or throws holds back no other document through a relay: timed out it is ERR_UNAVAILABLE (retried), thrown a refusal', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    let hang = false
    const tree = await zmqTree({
      hookTimeoutMs: 300,
      authorize: async ({ doc }) => {
        if (doc === 'stuck' && hang) await gate
        if (doc === 'broken') throw new Error('the access service is down')
        return true
      },
    })
    // The relay holds the documents (its own opens are decided before the hook starts hanging).
    for (const doc of ['stuck', 'free']) await tree.relay.open(doc, { initial: { n: 1 } })
    hang = true
    const tab = await tree.leaf()
    const stuck = tab.open<{ n: number }>('stuck')
    const broken = tab.open('broken', { initial: {} })
    const free = await tab.open<{ n: number }>('free')
    expect(free.state.n).toBe(1)
    await expect(broken).rejects.toThrow(/access service is down/)
    await waitFor(() => (tree.relay.stats().refusedByCode.ERR_UNAVAILABLE ?? 0) >= 1, 'the timed-out question to be answered ERR_UNAVAILABLE')
    release()
    expect((await stuck).state.n).toBe(1)
  })

  it('a page cannot make the edge ask the root for it: ACCESS from a leaf is dropped, not forwarded', async () => {
    const rules = policy()
    edge = await startEdge({ root: { authorize: rules.authorize } })
    const raw = await RawPeer.connect(edge.addresses)
    try {
      raw.hello()
      await waitFor(() => raw.welcomed(), 'the raw page to be welcomed')
      const dropped = edge.relay.stats().dropped
      for (let i = 0; i < 100; i++) raw.send({ kind: Kind.ACCESS, doc: `doc-${i}` as DocId })
      await waitFor(() => edge!.relay.stats().dropped >= dropped + 100, 'the questions to be dropped at the edge')
      expect(edge.root.stats().receivedByKind.ACCESS ?? 0).toBe(0)
      expect(rules.asked).toEqual([])
    } finally {
      raw.close()
    }
  })

  it('two relays deep: the lower relay asks the upper one, which asks the root once and answers from what it kept', async () => {
    const rules = policy()
    const tree = await zmqTree({ authorize: rules.authorize, accessCacheMs: 600_000 })
    const lower = await res!.endpoint({ join: tree.relay.addresses! })
    const leafUnder = (relay: Endpoint) => res!.endpoint({ bind: undefined, join: relay.addresses! })
    const holder = await leafUnder(lower)
    const written = await holder.open<{ n: number }>('secret', { initial: { n: 0 } })
    const intruder = await leafUnder(lower)
    rules.denied.add(intruder.id)
    await expect(intruder.open('secret')).rejects.toThrow(/may not read/)
    expect(rules.asked.some((r) => r.endpoint === intruder.id && r.action === 'read')).toBe(true)
    expect(lower.stats().refusedByCode.ERR_ACCESS_DENIED).toBeGreaterThanOrEqual(1)
    // An allowed reader two relays down opens, and honest changes reach it.
    const reader = await leafUnder(lower)
    const read = await reader.open<{ n: number }>('secret')
    await written.change((s) => void (s.n = 3))!.confirmed
    await waitFor(() => read.state.n === 3, 'an honest change reaches the reader two relays down')
    // The upper relay keeps what the root said: a tab it asked about (as its own child) that
    // comes back under the lower relay is answered from there, without asking the root again.
    const tab = await leafUnder(tree.relay)
    ;(await tab.open('secret')).close()
    const id = tab.id
    await tab.close()
    const asked = rules.asked.filter((r) => r.endpoint === id).length
    const again = await res!.endpoint({ bind: undefined, join: lower.addresses!, id })
    await again.open('secret')
    expect(rules.asked.filter((r) => r.endpoint === id).length).toBe(asked)
    expect(tree.relay.stats().receivedByKind.ACCESS ?? 0).toBeGreaterThanOrEqual(1)
  })
})

describe('a reader whose access the root revokes loses the document within the stated bound', () => {
  /** `reader` reads `secret` until the root refuses it; then it is told, and changes stop reaching it. */
  async function revokedReaderIsCutOff(tree: Tree, rules: ReturnType<typeof policy>, via: Endpoint): Promise<void> {
    const writer = await tree.leaf()
    const written = await writer.open<{ n: number }>('secret', { initial: { n: 0 } })
    const reader = await tree.leaf()
    const other = await tree.leaf()
    const read = await reader.open<{ n: number }>('secret')
    const seen = await other.open<{ n: number }>('secret')
    const errors: Error[] = []
    reader.on('error', (e) => errors.push(e))
    await written.change((s) => void (s.n = 1))!.confirmed
    await waitFor(() => read.state.n === 1, 'the reader to read while allowed')
    rules.denied.add(reader.id)
    // The bound: about twice accessCacheMs (1 s here) plus a heartbeat; waited on generously.
    await waitFor(() => errors.some((e) => e instanceof AccessDeniedError && e.doc === 'secret'), 'the reader to be told its access was revoked', 30_000)
    expect(via.stats().refusedByCode.ERR_ACCESS_DENIED).toBeGreaterThanOrEqual(1)
    await written.change((s) => void (s.n = 2))!.confirmed
    await waitFor(() => seen.state.n === 2, 'an honest change to reach the reader still allowed')
    expect(read.state.n).toBe(1)
    // Opening again is refused, too.
    await expect(reader.open('secret')).rejects.toBeInstanceOf(AccessDeniedError)
  }

  it('under a relay, over ZeroMQ', async () => {
    const rules = policy()
    const tree = await zmqTree({ authorize: rules.authorize, accessCacheMs: 1000 })
    await revokedReaderIsCutOff(tree, rules, tree.relay)
  })

  it('a direct child of the root, over ZeroMQ', async () => {
    const rules = policy()
    res = new Resources()
    const r = res
    const root = await r.endpoint({ authorize: rules.authorize, accessCacheMs: 1000 })
    await revokedReaderIsCutOff({ root, relay: root, leaf: () => r.endpoint({ bind: undefined, join: root.addresses! }) }, rules, root)
  })

  it('a tab at the WebSocket edge: the edge stops sending it the document', async () => {
    const rules = policy()
    edge = await startEdge({ root: { authorize: rules.authorize, accessCacheMs: 1000 } })
    const e = edge
    await revokedReaderIsCutOff({ root: e.root, relay: e.relay, leaf: (options) => e.client(options) }, rules, e.relay)
    // A raw page that would keep listening: once revoked, the edge sends it nothing of the document.
    const raw = await RawPeer.connect(e.addresses)
    const beat = setInterval(() => raw.send({ kind: Kind.HEARTBEAT }), 200)
    try {
      raw.hello()
      await waitFor(() => raw.welcomed(), 'the raw page to be welcomed')
      raw.open('secret')
      await waitFor(() => raw.received.some((r) => r.message.kind === Kind.SNAPSHOT), 'the raw page to read "secret"')
      const writer = await e.client()
      const written = await writer.open<{ n: number }>('secret')
      await written.change((s) => void (s.n = 10))!.confirmed
      await waitFor(() => raw.docFrames > 0, 'the raw page to get a change while allowed')
      rules.denied.add(raw.id)
      await waitFor(() => raw.refusals().some((r) => r.code === 'ERR_ACCESS_DENIED' && r.doc === 'secret'), 'the raw page to be told', 30_000)
      const frames = raw.docFrames
      const other = await (await e.client()).open<{ n: number }>('secret')
      await written.change((s) => void (s.n = 11))!.confirmed
      await waitFor(() => other.state.n === 11, 'the change to reach an allowed reader')
      expect(raw.docFrames).toBe(frames)
    } finally {
      clearInterval(beat)
      raw.close()
    }
  })
})
