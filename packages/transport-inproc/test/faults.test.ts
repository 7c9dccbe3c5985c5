import { InvalidArgumentError, type Frames } from '@zinc/core'
import { InprocNetwork, InprocTransport, mulberry32, type FaultOptions } from '@zinc/transport-inproc'
import { afterEach, describe, expect, it } from 'vitest'
import { body, collect, index, settle, waitFor } from './helpers.js'

const transports: InprocTransport[] = []
function node(network: InprocNetwork, name?: string): InprocTransport {
  const transport = new InprocTransport(network, name === undefined ? {} : { node: name })
  transports.push(transport)
  return transport
}
afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()))
})

/** Sends `count` messages over one PUSH→PULL link under `faults`; returns what arrived. */
async function run(seed: number, faults: FaultOptions, count = 300): Promise<{ indexes: number[]; network: InprocNetwork }> {
  const network = new InprocNetwork({ seed, faults })
  const pull = await node(network, 'a').pull('inproc://f', { highWaterMark: 0 })
  const received = collect(pull)
  const push = await node(network, 'b').push('inproc://f')
  for (let i = 0; i < count; i++) await push.send(body(i))
  await waitFor(() => {
    const s = network.stats()
    return s.delivered === count - s.droppedByFault + s.duplicated
  }, 'every surviving message arrives')
  await settle()
  return { indexes: received.messages.map((f: Frames) => index(f[0])), network }
}

describe('fault injection', () => {
  it('is deterministic: the same seed drops the same messages, another seed others', async () => {
    const first = await run(42, { drop: 0.3 })
    const again = await run(42, { drop: 0.3 })
    const other = await run(43, { drop: 0.3 })
    expect(again.indexes).toEqual(first.indexes)
    expect(other.indexes).not.toEqual(first.indexes)
    const dropped = first.network.stats().droppedByFault
    expect(dropped).toBeGreaterThan(30)
    expect(dropped).toBeLessThan(150)
    expect(first.indexes.length).toBe(300 - dropped)
    // What survives keeps its order.
    expect([...first.indexes].sort((x, y) => x - y)).toEqual(first.indexes)
  })

  it('duplicates messages back to back, counted', async () => {
    const { indexes, network } = await run(7, { duplicate: 0.2 })
    const { duplicated } = network.stats()
    expect(duplicated).toBeGreaterThan(10)
    expect(indexes.length).toBe(300 + duplicated)
    expect([...new Set(indexes)]).toEqual(Array.from({ length: 300 }, (_, i) => i))
    expect([...indexes].sort((x, y) => x - y)).toEqual(indexes)
  })

  it('delays keep the order of each connection', async () => {
    const network = new InprocNetwork({ seed: 5, faults: { delay: { probability: 0.3, maxMs: 5 } } })
    const pull = await node(network, 'a').pull('inproc://d', { highWaterMark: 0 })
    const received = collect(pull)
    const pushes = [await node(network, 'b').push('inproc://d'), await node(network, 'c').push('inproc://d')]
    await Promise.all(
      pushes.map(async (push, sender) => {
        for (let i = 0; i < 100; i++) await push.send(body(sender * 1000 + i))
      }),
    )
    await waitFor(() => received.messages.length === 200, 'all 200 arrive')
    expect(network.stats().delayed).toBeGreaterThan(10)
    const values = received.messages.map((f) => index(f[0]))
    for (const sender of [0, 1]) {
      const mine = values.filter((v) => Math.floor(v / 1000) === sender)
      expect(mine).toEqual(Array.from({ length: 100 }, (_, i) => sender * 1000 + i))
    }
  })

  it('applies faults only between the given groups of nodes', async () => {
    const network = new InprocNetwork({ faults: { drop: 1, between: [['a'], ['b']] } })
    const pull = await node(network, 'a').pull('inproc://g')
    const received = collect(pull)
    const fromB = await node(network, 'b').push('inproc://g')
    const fromC = await node(network, 'c').push('inproc://g')
    for (let i = 0; i < 10; i++) {
      await fromB.send(body(i))
      await fromC.send(body(100 + i))
    }
    await waitFor(() => received.messages.length === 10, "c's messages arrive")
    await settle()
    expect(received.messages.map((f) => index(f[0]))).toEqual(Array.from({ length: 10 }, (_, i) => 100 + i))
    expect(network.stats().droppedByFault).toBe(10)
    network.faults(null)
    await fromB.send(body(7))
    await waitFor(() => received.messages.length === 11, 'faults removed')
  })

  it('drops inbound messages over maxMessageBytes, counted', async () => {
    const network = new InprocNetwork()
    const t = node(network)
    const pull = await t.pull('inproc://big', { maxMessageBytes: 100 })
    const pub = await t.pub('inproc://big-pub')
    const sub = await t.sub('inproc://big-pub', { maxMessageBytes: 100 })
    sub.subscribe('')
    const pulled = collect(pull)
    const subbed = collect(sub)
    const push = await t.push('inproc://big')
    for (const size of [50, 150, 100]) {
      await push.send(new Uint8Array(size))
      await pub.send('t', new Uint8Array(size - 1)) // plus the 1-byte topic
    }
    await waitFor(() => pulled.messages.length === 2 && subbed.messages.length === 2, 'small ones arrive')
    await settle()
    expect(pulled.messages.map((f) => f[0]?.byteLength)).toEqual([50, 100])
    expect(subbed.messages.map((f) => f[1]?.byteLength)).toEqual([49, 99])
    expect(network.stats().droppedTooLarge).toBe(2)
  })

  it('rejects probabilities outside [0, 1]', () => {
    const network = new InprocNetwork()
    expect(() => network.faults({ drop: 1.5 })).toThrow(InvalidArgumentError)
    expect(() => network.faults({ delay: { probability: -1, maxMs: 1 } })).toThrow(InvalidArgumentError)
  })

  it('mulberry32 repeats for a seed', () => {
    const [a, b] = [mulberry32(9), mulberry32(9)]
    const values = Array.from({ length: 5 }, () => a())
    expect(Array.from({ length: 5 }, () => b())).toEqual(values)
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true)
  })
})
