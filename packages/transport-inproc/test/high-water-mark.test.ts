import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { afterEach, describe, expect, it } from 'vitest'
import { body, collect, index, settle, track, waitFor } from './helpers.js'

const transports: InprocTransport[] = []
function node(network: InprocNetwork): InprocTransport {
  const transport = new InprocTransport(network)
  transports.push(transport)
  return transport
}
afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()))
})

describe('high-water marks', () => {
  it("a PUB keeps the PUB's plus the SUB's high-water mark per subscriber and drops the rest, counted", async () => {
    const network = new InprocNetwork()
    const pub = await node(network).pub('inproc://h', { highWaterMark: 10 })
    const sub = await node(network).sub('inproc://h', { highWaterMark: 10 })
    sub.subscribe('')
    for (let i = 0; i < 100; i++) await pub.send('t', body(i))
    expect(network.stats().droppedByHwm).toBe(80)
    const received = collect(sub)
    await waitFor(() => received.messages.length === 20, '20 arrive')
    await settle()
    expect(received.messages.map((f) => index(f[1]))).toEqual(Array.from({ length: 20 }, (_, i) => i))
  })

  it('a PUSH waits when its link is full and continues as the PULL reads', async () => {
    const network = new InprocNetwork()
    const pull = await node(network).pull('inproc://p', { highWaterMark: 3 })
    const push = await node(network).push('inproc://p', { highWaterMark: 2 })
    for (let i = 0; i < 5; i++) await push.send(body(i))
    const sixth = push.send(body(5))
    const seventh = push.send(body(6))
    const states = [track(sixth), track(seventh)]
    await settle()
    expect(states.map((s) => s.settled())).toEqual([false, false])

    const reader = pull[Symbol.asyncIterator]()
    const first = await reader.next()
    expect(index(first.value?.[0])).toBe(0)
    await sixth
    await settle()
    expect(states[1]?.settled()).toBe(false)
    const rest = []
    for (let i = 0; i < 6; i++) rest.push(index((await reader.next()).value?.[0]))
    expect(rest).toEqual([1, 2, 3, 4, 5, 6])
    await seventh
  })

  it('a high-water mark of 0 means no limit', async () => {
    const network = new InprocNetwork()
    const pull = await node(network).pull('inproc://z', { highWaterMark: 0 })
    const push = await node(network).push('inproc://z', { highWaterMark: 0 })
    for (let i = 0; i < 5000; i++) await push.send(body(i))
    const received = collect(pull)
    await waitFor(() => received.messages.length === 5000, 'all arrive')
  })
})
