import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { afterEach, describe, expect, it } from 'vitest'
import { body, collect, index, settle, str, text, track, waitFor } from './helpers.js'

const transports: InprocTransport[] = []
function node(network: InprocNetwork, name: string): InprocTransport {
  const transport = new InprocTransport(network, { node: name })
  transports.push(transport)
  return transport
}
afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()))
})

describe('partition and heal', () => {
  it('silently loses messages both ways, on every pattern, until healed', async () => {
    const network = new InprocNetwork()
    const [a, b] = [node(network, 'a'), node(network, 'b')]
    const pull = await a.pull('inproc://a-in')
    const pub = await a.pub('inproc://a-out')
    const push = await b.push('inproc://a-in')
    const sub = await b.sub('inproc://a-out')
    sub.subscribe('')
    const pulled = collect(pull)
    const subbed = collect(sub)

    network.partition(['a'], ['b'])
    await push.send(text('lost-up'))
    await pub.send('t', text('lost-down'))
    await settle()
    expect(pulled.messages.length + subbed.messages.length).toBe(0)
    expect(network.stats().droppedByPartition).toBe(2)

    network.heal()
    await push.send(text('up'))
    await pub.send('t', text('down'))
    await waitFor(() => pulled.messages.length === 1 && subbed.messages.length === 1, 'traffic resumes')
    expect(str(pulled.messages[0]?.[0])).toBe('up')
    expect(str(subbed.messages[0]?.[1])).toBe('down')
  })

  it('leaves nodes on the same side talking', async () => {
    const network = new InprocNetwork()
    const pull = await node(network, 'a').pull('inproc://p')
    const received = collect(pull)
    const push = await node(network, 'c').push('inproc://p')
    network.partition(['a', 'c'], ['b'])
    await push.send(text('x'))
    await waitFor(() => received.messages.length === 1, 'a and c still talk')
  })
})

describe('kill', () => {
  it("stops a node's channels silently and frees its addresses for a successor", async () => {
    const network = new InprocNetwork()
    const [a, b, c] = [node(network, 'a'), node(network, 'b'), node(network, 'c')]
    const bPull = await b.pull('inproc://b-in')
    const aPub = await a.pub('inproc://a-out')
    const bSub = await b.sub('inproc://a-out')
    bSub.subscribe('')
    const aPull = await a.pull('inproc://a-in')
    const bPush = await b.push('inproc://a-in')
    const aPush = await a.push('inproc://b-in')
    const bRead = track(bSub[Symbol.asyncIterator]().next())
    const aPulled = collect(aPull)

    network.kill('b')
    expect(network.isKilled('b')).toBe(true)
    await aPub.send('t', text('to the dead'))
    await bPush.send(text('from the dead')) // resolves, vanishes
    await settle()
    expect(bRead.settled(), "a dead node's read stays pending").toBe(false)
    expect(aPulled.messages.length).toBe(0)
    expect(bPull.closed).toBe(false)

    // The successor binds the dead node's address; a's PUSH re-attaches to it.
    const successor = await c.pull('inproc://b-in')
    const received = collect(successor)
    await aPush.send(body(1))
    await waitFor(() => received.messages.length === 1, 'the successor receives')
    expect(index(received.messages[0]?.[0])).toBe(1)

    // Closing the dead node's channels still ends their reads, and leaves the successor alone.
    await bSub.close()
    await bPull.close()
    await waitFor(bRead.settled, 'close ends the read')
    await aPush.send(body(2))
    await waitFor(() => received.messages.length === 2, 'the successor still receives')
  })

  it('resolves the pending sends of a killed node, and makes its new channels dead', async () => {
    const network = new InprocNetwork()
    const [a, b] = [node(network, 'a'), node(network, 'b')]
    await a.pull('inproc://full', { highWaterMark: 1 })
    const push = await b.push('inproc://full', { highWaterMark: 1 })
    await push.send(body(0))
    await push.send(body(1))
    const pending = push.send(body(2))
    network.kill('b')
    await pending

    const dead = await b.pull('inproc://taken-by-nobody')
    const live = await node(network, 'c').pull('inproc://taken-by-nobody')
    const received = collect(dead)
    const push2 = await a.push('inproc://taken-by-nobody')
    await push2.send(text('x'))
    await settle()
    expect(received.messages.length).toBe(0)
    expect(live.address).toBe(dead.address)
  })
})
