import type { Document, DocumentFragment } from '@zinc/core'
import { InprocNetwork } from '@zinc/transport-inproc'
import { afterEach, describe, expect, it } from 'vitest'
import { converged, inprocTree, waitFor, type InprocTree } from './helpers.js'

type Shared = { log: string[]; keys: Record<string, number> }

let tree: InprocTree | undefined
afterEach(async () => {
  await tree?.close()
  tree = undefined
})

describe('trees of relays', () => {
  it('roles follow places; a leaf change reaches a leaf in another branch; echo suppressed across hops', async () => {
    tree = await inprocTree(3, 2)
    const { root, levels } = tree
    await waitFor(() => levels[1]!.every((e) => e.role === 'relay') && levels[2]!.every((e) => e.role === 'relay'), 'relay roles')
    expect(root.role).toBe('host')
    expect(levels[3]!.every((e) => e.role === 'client')).toBe(true)
    const rootDoc = await root.open<Shared>('doc', { initial: { log: [], keys: {} } })
    const first = levels[3]![0]!
    const last = levels[3]!.at(-1)!
    const a = await first.open<Shared>('doc')
    const b = await last.open<Shared>('doc')
    const seenByA: number[] = []
    a.subscribe((s) => seenByA.push(s.log.length))
    const fragment = a.change((s) => void s.log.push('from-a'))!
    await expect(fragment.confirmed).resolves.toBe(1)
    await waitFor(() => b.state.log.length === 1, 'the other branch sees it')
    b.change((s) => void s.log.push('from-b'))
    await b.synced()
    await waitFor(() => converged([rootDoc, a, b] as Document<unknown>[]), 'convergence')
    expect(rootDoc.state.log).toEqual(['from-a', 'from-b'])
    // Own change notified once, the echo never; b's change once.
    expect(seenByA).toEqual([1, 2])
    expect(a.state.log).toEqual(['from-a', 'from-b'])
  })

  it('relays carry only documents open below them and answer late joiners themselves', async () => {
    tree = await inprocTree(2, 3)
    const { root, levels } = tree
    const rootDoc = await root.open<Shared>('doc', { initial: { log: [], keys: {} } })
    const relay = levels[1]![0]!
    const leaves = levels[2]!.slice(0, 3)
    expect(relay.stats().docs).toEqual({})
    const docs = [] as Document<Shared>[]
    for (const leaf of leaves) docs.push(await leaf.open<Shared>('doc'))
    expect(Object.keys(relay.stats().docs)).toEqual(['doc'])
    // The root served the relay once; the relay served its three leaves.
    expect(root.stats().served).toBe(1)
    expect(relay.stats().served).toBe(3)
    // Another relay with nobody below has nothing open.
    expect(levels[1]![1]!.stats().docs).toEqual({})
    docs[0]!.change((s) => void s.log.push('x'))
    await docs[0]!.synced()
    await waitFor(() => converged([rootDoc, ...docs] as Document<unknown>[]), 'convergence')
    for (const d of docs) await d.close()
    await waitFor(() => Object.keys(relay.stats().docs).length === 0, 'the relay released the document')
  })

  it('depth 4, fan-out 3, with faults: every replica converges, every change exactly once', async () => {
    const network = new InprocNetwork({ seed: 42 })
    tree = await inprocTree(4, 3, {}, network)
    const { root, levels } = tree
    const rootDoc = await root.open<Shared>('doc', { initial: { log: [], keys: {} } })
    // Leaves of every branch plus some relays open the document.
    const editors = [...levels[4]!.filter((_, i) => i % 4 === 0), levels[2]![0]!, levels[3]![5]!]
    const docs: Document<Shared>[] = []
    for (const e of editors) docs.push(await e.open<Shared>('doc'))
    network.faults({ drop: 0.03, duplicate: 0.03, delay: { probability: 0.1, maxMs: 15 } })
    const tokens: Array<{ token: string; fragment: DocumentFragment }> = []
    for (let step = 0; step < 150; step++) {
      const i = step % docs.length
      const token = `${i}:${step}`
      const fragment = docs[i]!.change((s) => {
        s.log.push(token)
        s.keys[`k${step % 5}`] = step
      })!
      tokens.push({ token, fragment })
      if (step % 10 === 0) await new Promise((r) => setTimeout(r, 1))
    }
    network.faults(null)
    await waitFor(() => converged([rootDoc, ...docs] as Document<unknown>[]), 'tree convergence', 60_000)
    for (const { token, fragment } of tokens) {
      await expect(fragment.confirmed).resolves.toBeGreaterThan(0)
      expect(rootDoc.state.log.filter((t) => t === token)).toHaveLength(1)
    }
    expect(rootDoc.state.log).toHaveLength(tokens.length)
    expect(network.stats().droppedByFault).toBeGreaterThan(0)
  })

  it('refuses a loop: an endpoint joining its own descendant', async () => {
    tree = await inprocTree(2, 1)
    const { levels } = tree
    const middle = levels[1]![0]!
    const leaf = levels[2]![0]!
    const { Endpoint } = await import('@zinc/core')
    const { InprocTransport } = await import('@zinc/transport-inproc')
    // Wait until the leaf has heard its ancestor chain (heartbeats carry it).
    await new Promise((r) => setTimeout(r, 100))
    await expect(Endpoint.start({ transport: new InprocTransport(tree.network), join: leaf.addresses, id: middle.id, heartbeatMs: 30, peerTimeoutMs: 400 })).rejects.toThrow(/loop/)
  })
})
