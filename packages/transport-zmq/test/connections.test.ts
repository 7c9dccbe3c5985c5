import { afterEach, describe, expect, it } from 'vitest'
import { Dealer } from 'zeromq'
import type { ReceivedFrames } from '@zinc/core'
import { ZmqTransport } from '../src/index.js'
import { sessionOf as sessionOfRoutingId } from '../src/connections.js'
import { bytes, drain, text, waitFor } from './helpers.js'

const closers: Array<() => unknown> = []
function transport(): ZmqTransport {
  const t = new ZmqTransport()
  closers.push(() => t.close())
  return t
}

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

const sessionOf = (frames: ReceivedFrames | undefined) => frames?.peer?.session

/** A foreign DEALER (no routing id of its own unless given) connected to `address`. */
function dealer(address: string, routingId?: string): Dealer {
  const socket = new Dealer({ linger: 0, ...(routingId !== undefined ? { routingId } : {}) })
  socket.connect(address)
  closers.push(() => socket.close())
  return socket
}

describe('ZmqTransport: a PULL tells connections apart (ROUTER inbound)', () => {
  it('a PUSH keeps its session across a reconnect to a PULL bound again on the same address', async () => {
    const t = transport()
    const first = await t.pull('tcp://127.0.0.1:*')
    const address = first.address
    const push = await t.push(address, { session: 'reconnecting-session' })
    const before = drain(first)
    await push.send(bytes('before'))
    await waitFor(() => before.frames.length === 1, 'the first message')
    await first.close()
    const second = await t.pull(address)
    const after = drain(second)
    // Sent until one arrives: what was in flight while no one was bound may be lost.
    await waitFor(() => {
      if (after.frames.length === 0) void push.send(bytes('after'))
      return after.frames.length > 0
    }, 'a message over the new connection')
    expect(sessionOf(before.frames[0])).toBe('reconnecting-session')
    expect(sessionOf(after.frames[0])).toBe('reconnecting-session')
    expect(second.isConnected('reconnecting-session')).toBe(true)
  })

  it('peers without a session of their own get one per connection, which no presented session can be', async () => {
    const t = transport()
    const pull = await t.pull('tcp://127.0.0.1:*')
    const { frames } = drain(pull)
    const a = dealer(pull.address)
    const b = dealer(pull.address)
    await a.send([new Uint8Array(0), bytes('a')])
    await b.send([new Uint8Array(0), bytes('b')])
    await waitFor(() => frames.length === 2, 'both messages')
    const byBody = new Map(frames.map((f) => [text(f[0]), sessionOf(f)]))
    expect(byBody.get('a')).toMatch(/^anonymous:/)
    expect(byBody.get('b')).toMatch(/^anonymous:/)
    expect(byBody.get('a')).not.toBe(byBody.get('b'))
    const push = await t.push(pull.address, { session: 'mine' })
    await push.send(bytes('mine'))
    await waitFor(() => frames.length === 3, 'the PUSH message')
    expect(sessionOf(frames[2])).toBe('mine')
  })

  it('a lone empty frame from a peer is no message and does not end its connection', async () => {
    const t = transport()
    const pull = await t.pull('tcp://127.0.0.1:*')
    const { frames } = drain(pull)
    const peer = dealer(pull.address, 'zpeer')
    await peer.send([new Uint8Array(0), bytes('one')])
    await waitFor(() => frames.length === 1, 'the first message')
    // Looks like libzmq's disconnect notice: the PULL looks again and finds the peer there.
    await peer.send(new Uint8Array(0))
    await peer.send([new Uint8Array(0), bytes('two')])
    await waitFor(() => frames.length === 2, 'the second message')
    expect(frames.map((f) => [text(f[0]), sessionOf(f)])).toEqual([
      ['one', 'peer'],
      ['two', 'peer'],
    ])
    // Probes and re-checks run in the background: it stays connected through them.
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect(pull.isConnected('peer')).toBe(true)
    peer.close()
    await waitFor(() => !pull.isConnected('peer'), 'the closed peer to be gone')
  })

  it('a multipart message keeps its frames, after the delimiter', async () => {
    const t = transport()
    const pull = await t.pull('tcp://127.0.0.1:*')
    const { frames } = drain(pull)
    const peer = dealer(pull.address)
    await peer.send([new Uint8Array(0), bytes('x'), bytes('y')])
    await peer.send([new Uint8Array(0), new Uint8Array(0)])
    await waitFor(() => frames.length === 2, 'both messages')
    expect(frames[0]!.map(text)).toEqual(['x', 'y'])
    expect(frames[1]!.map((f) => f.byteLength)).toEqual([0])
  })

  it('two routing ids never share a session: one that is not UTF-8, or poses as an anonymous one, is anonymous', () => {
    const id = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))))
    expect(sessionOfRoutingId(id('zabc'))).toBe('abc')
    const made = id([0, 1, 2, 3, 4])
    expect(sessionOfRoutingId(made)).toBe('anonymous:0001020304')
    // Posing as that made-up one, or as text that is not UTF-8: named by its own bytes.
    const posing = id('z', sessionOfRoutingId(made))
    expect(sessionOfRoutingId(posing)).toBe(`anonymous:${posing.toString('hex')}`)
    const invalid = [id('z', [0xff]), id('z', [0xfe])]
    expect(new Set(invalid.map(sessionOfRoutingId)).size).toBe(2)
    for (const rid of invalid) expect(sessionOfRoutingId(rid)).toMatch(/^anonymous:7a/)
  })
})
