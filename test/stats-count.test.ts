import { encodeMessage, Kind, newEndpointId, peekKind } from '@zinc/core'
import { afterEach, describe, expect, it } from 'vitest'
import { inprocCluster, waitFor, type InprocCluster } from './helpers.js'

// `stats.sent` counts every message once, and `sentByKind` covers every kind sent: the CLI's
// `zinc stats` and /metrics show both, and an operator adds them up.
let cluster: InprocCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

const total = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0)

describe('sent counters', () => {
  it('peekKind reads the kind of an encoded envelope', () => {
    for (const kind of [Kind.HELLO, Kind.OPEN, Kind.FRAGMENT, Kind.APP, Kind.HEARTBEAT]) {
      expect(peekKind(encodeMessage({ kind, origin: newEndpointId(), epoch: 3, doc: kind === Kind.OPEN || kind === Kind.FRAGMENT ? 'd' : '' }))).toBe(kind)
    }
    expect(peekKind(new Uint8Array(0))).toBe(0)
    expect(peekKind(Uint8Array.of(0xff, 0xff))).toBe(0)
  })

  it('count every message once, by kind, on a root and a client', async () => {
    cluster = await inprocCluster(1)
    const { host, clients } = cluster
    const client = clients[0]!
    const doc = await client.open<{ n: number }>('doc', { initial: { n: 0 } })
    doc.change((d) => void (d.n = 1))
    await doc.synced()
    const heard = new Promise((resolve) => host.handle('chat', (m) => resolve(m.payload)))
    await client.publish('chat', 'hi')
    await heard
    await waitFor(() => (client.stats().sentByKind.HEARTBEAT ?? 0) > 0 && (host.stats().sentByKind.HEARTBEAT ?? 0) > 0, 'heartbeats both ways')
    for (const ep of [host, client]) {
      const s = ep.stats()
      expect(total(s.sentByKind), JSON.stringify(s.sentByKind)).toBe(s.sent)
      expect(Object.keys(s.sentByKind).some((k) => k.startsWith('UNKNOWN'))).toBe(false)
    }
    const c = client.stats().sentByKind
    // Up once each; APP and FRAGMENT also go down to the client's own (empty) subtree when they
    // come back from the root, which is a real send on its PUB.
    expect(c.OPEN).toBe(1)
    expect(c.HELLO).toBe(1)
    expect(c.APP).toBeGreaterThanOrEqual(1)
    expect(c.FRAGMENT).toBeGreaterThanOrEqual(1)
    expect(Object.keys(host.stats().sentByKind)).toEqual(expect.arrayContaining(['WELCOME', 'SNAPSHOT', 'FRAGMENT', 'HEARTBEAT', 'ROSTER']))
  })
})
