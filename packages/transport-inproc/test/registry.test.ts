import { AddressInUseError, AddressNotFoundError, ChannelClosedError, ConnectError, UnsupportedAddressError } from '@zinc/core'
import { InprocNetwork, InprocTransport } from '@zinc/transport-inproc'
import { afterEach, describe, expect, it } from 'vitest'
import { body, collect, index, settle, str, text, track, waitFor } from './helpers.js'

const transports: InprocTransport[] = []
function node(network: InprocNetwork, name?: string): InprocTransport {
  const transport = new InprocTransport(network, name === undefined ? {} : { node: name })
  transports.push(transport)
  return transport
}
afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()))
})

describe('InprocNetwork registry', () => {
  it('rejects binding a taken address with AddressInUseError, for any pattern and node', async () => {
    const network = new InprocNetwork()
    const a = node(network)
    const pull = await a.pull('inproc://taken')
    for (const attempt of [a.pull('inproc://taken'), node(network).pub('inproc://taken')]) {
      const error = await attempt.catch((e: unknown) => e)
      expect(error).toBeInstanceOf(AddressInUseError)
      expect((error as AddressInUseError).code).toBe('ERR_ADDRESS_IN_USE')
      expect((error as Error).message).toContain('inproc://taken')
    }
    await pull.close()
    await expect(a.pub('inproc://taken')).resolves.toBeDefined()
  })

  it('rejects connecting to an unbound address with AddressNotFoundError', async () => {
    const t = node(new InprocNetwork())
    await expect(t.push('inproc://nowhere')).rejects.toBeInstanceOf(AddressNotFoundError)
    await expect(t.sub('inproc://nowhere')).rejects.toMatchObject({ code: 'ERR_ADDRESS_NOT_FOUND' })
  })

  it('rejects other schemes with UnsupportedAddressError', async () => {
    const t = node(new InprocNetwork())
    for (const address of ['tcp://127.0.0.1:*', 'ipc:///tmp/x.sock', 'inproc://', 'name']) {
      await expect(t.pull(address)).rejects.toBeInstanceOf(UnsupportedAddressError)
      await expect(t.sub(address)).rejects.toBeInstanceOf(UnsupportedAddressError)
    }
  })

  it('rejects connecting a PUSH to a PUB (and a SUB to a PULL) with ConnectError', async () => {
    const network = new InprocNetwork()
    const t = node(network)
    await t.pub('inproc://p')
    await t.pull('inproc://q')
    await expect(t.push('inproc://p')).rejects.toBeInstanceOf(ConnectError)
    await expect(t.sub('inproc://q')).rejects.toMatchObject({ code: 'ERR_CONNECT' })
  })

  it('gives unique addresses and node names', async () => {
    const network = new InprocNetwork()
    const t = node(network)
    await t.pull('inproc://x-1')
    const address = network.uniqueAddress('x')
    expect(address).toMatch(/^inproc:\/\/x-\d+$/)
    expect(address).not.toBe('inproc://x-1')
    expect(network.uniqueAddress('x')).not.toBe(address)
    expect(t.node).not.toBe(node(network).node)
    expect(node(network, 'alice').node).toBe('alice')
    expect(t.name).toBe('inproc')
    expect(t.canBind).toBe(true)
  })

  it('delivers on a microtask, never inside send', async () => {
    const network = new InprocNetwork()
    const t = node(network)
    const pull = await t.pull('inproc://m')
    const push = await t.push('inproc://m')
    const next = track(pull[Symbol.asyncIterator]().next())
    void push.send(text('x'))
    expect(next.settled()).toBe(false)
    await settle()
    expect(next.settled()).toBe(true)
  })

  it('a SUB receives only what was published after it subscribed', async () => {
    const network = new InprocNetwork()
    const t = node(network)
    const pub = await t.pub('inproc://s')
    const sub = await t.sub('inproc://s')
    const received = collect(sub)
    await pub.send('a', text('before'))
    sub.subscribe('a')
    await pub.send('a', text('after'))
    await waitFor(() => received.messages.length === 1, 'one message')
    await settle()
    expect(received.messages.map((f) => str(f[1]))).toEqual(['after'])
  })

  it('a PUSH keeps up to its high-water mark while its PULL is gone, and re-attaches on rebind', async () => {
    const network = new InprocNetwork()
    const [a, b] = [node(network), node(network)]
    const first = await a.pull('inproc://r')
    const push = await b.push('inproc://r', { highWaterMark: 3 })
    await first.close()
    for (let i = 0; i < 3; i++) await push.send(body(i))
    const fourth = push.send(body(3))
    const fourthState = track(fourth)
    await settle()
    expect(fourthState.settled(), 'the backlog is full').toBe(false)

    const second = await a.pull('inproc://r')
    const received = collect(second)
    await fourth
    await waitFor(() => received.messages.length === 4, 'the backlog arrives')
    expect(received.messages.map((f) => index(f[0]))).toEqual([0, 1, 2, 3])
  })

  it('closing a PUSH rejects its pending sends with ChannelClosedError', async () => {
    const network = new InprocNetwork()
    const t = node(network)
    await t.pull('inproc://c', { highWaterMark: 1 })
    const push = await t.push('inproc://c', { highWaterMark: 1 })
    await push.send(body(0))
    await push.send(body(1))
    const pending = push.send(body(2))
    await push.close()
    await expect(pending).rejects.toBeInstanceOf(ChannelClosedError)
  })

  it('transport.close() closes its channels and ends their iterators', async () => {
    const network = new InprocNetwork()
    const t = node(network)
    const pull = await t.pull('inproc://t')
    const received = collect(pull)
    await t.close()
    await waitFor(received.ended, 'the iterator ends')
    expect(pull.closed).toBe(true)
    await expect(node(network).pull('inproc://t')).resolves.toBeDefined()
    await expect(t.pull('inproc://u')).rejects.toMatchObject({ code: 'ERR_CLOSED' })
  })
})
