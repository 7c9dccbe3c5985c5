import { afterEach, describe, expect, it } from 'vitest'
import { Context } from 'zeromq'
import { AddressInUseError, BindError, ChannelClosedError, ClosedError, ConnectError, UnsupportedAddressError } from '@zinc/core'
import type { Frames, PubChannel } from '@zinc/core'
import { ZmqTransport } from '../src/index.js'
import { bytes, drain, ipcAddress, removeIpcFiles, sleep, text, waitFor } from './helpers.js'

const transports: ZmqTransport[] = []
function transport(options?: ConstructorParameters<typeof ZmqTransport>[0]): ZmqTransport {
  const t = new ZmqTransport(options)
  transports.push(t)
  return t
}

afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()))
  removeIpcFiles()
})

/** Publishes warm-up messages on `topic` until every subscriber has seen one (slow joiner). */
async function warmUp(pub: PubChannel, received: Frames[][], topic: string): Promise<void> {
  const timer = setInterval(() => void pub.send(topic, bytes('warm-up')), 10)
  try {
    await waitFor(() => received.every((frames) => frames.length > 0), 'subscriptions to reach the publisher')
  } finally {
    clearInterval(timer)
  }
}

describe('ZmqTransport: binding and addresses', () => {
  it('resolves tcp://127.0.0.1:* to the real port', async () => {
    const t = transport()
    const pull = await t.pull('tcp://127.0.0.1:*')
    const pub = await t.pub('tcp://127.0.0.1:*')
    expect(pull.address).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/)
    expect(pub.address).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/)
    expect(pull.address).not.toBe(pub.address)
    expect(t.name).toBe('zmq')
    expect(t.canBind).toBe(true)
  })

  it('refuses a second bind of the same address with AddressInUseError (tcp, ipc, inproc)', async () => {
    const t = transport()
    const tcp = await t.pull('tcp://127.0.0.1:*')
    await expect(t.pull(tcp.address)).rejects.toBeInstanceOf(AddressInUseError)
    const ipc = await t.pub(ipcAddress())
    await expect(t.pull(ipc.address)).rejects.toBeInstanceOf(AddressInUseError)
    await t.pull('inproc://zinc-twice')
    await expect(t.pub('inproc://zinc-twice')).rejects.toBeInstanceOf(AddressInUseError)
  })

  it('rejects unsupported schemes with UnsupportedAddressError', async () => {
    const t = transport()
    for (const address of ['ws://127.0.0.1:1', 'udp://127.0.0.1:1', 'nonsense']) {
      await expect(t.pull(address)).rejects.toBeInstanceOf(UnsupportedAddressError)
      await expect(t.pub(address)).rejects.toBeInstanceOf(UnsupportedAddressError)
      await expect(t.push(address)).rejects.toBeInstanceOf(UnsupportedAddressError)
      await expect(t.sub(address)).rejects.toBeInstanceOf(UnsupportedAddressError)
    }
  })

  it('rejects an unbindable address with BindError naming it and its cause', async () => {
    const t = transport()
    const error = await t.pull('tcp://192.0.2.1:*').catch((err: unknown) => err)
    expect(error).toBeInstanceOf(BindError)
    expect((error as BindError).address).toBe('tcp://192.0.2.1:*')
    expect((error as Error).message).toContain('tcp://192.0.2.1:*')
    expect((error as Error).cause).toBeDefined()
  })

  it('rejects a malformed connect address with ConnectError', async () => {
    const t = transport()
    await expect(t.push('tcp://127.0.0.1')).rejects.toBeInstanceOf(ConnectError)
    await expect(t.sub('tcp://127.0.0.1:*')).rejects.toBeInstanceOf(ConnectError)
    expect(t.stats().channelsOpen).toBe(0)
  })

  it('lets a connecting channel start before its peer binds', async () => {
    const t = transport()
    // An ipc path nobody else can take (a tcp port freed for the test could be bound meanwhile
    // by another process on the machine, and the early message delivered there).
    const address = ipcAddress()
    const push = await t.push(address)
    await push.send(bytes('early'))
    const pull = await t.pull(address)
    const { frames } = drain(pull)
    await waitFor(() => frames.length === 1, 'the message queued before bind')
    expect(text(frames[0]?.[0])).toBe('early')
  })
})

describe('ZmqTransport: PUSH/PULL', () => {
  for (const [scheme, address] of [
    ['tcp', () => 'tcp://127.0.0.1:*'],
    ['ipc', () => ipcAddress()],
    ['inproc', () => `inproc://zinc-order-${Math.random()}`],
  ] as const) {
    it(`keeps order and never fails with EBUSY on concurrent sends (${scheme})`, async () => {
      const t = transport({ highWaterMark: 50 })
      const pull = await t.pull(address())
      const push = await t.push(pull.address)
      const { frames } = drain(pull)
      const count = 2000
      // All sends at once, none awaited: the writer queue must serialize them.
      await Promise.all(Array.from({ length: count }, (_, i) => push.send(bytes(String(i)))))
      await waitFor(() => frames.length === count, 'every message')
      expect(frames.map((f) => Number(text(f[0])))).toEqual(Array.from({ length: count }, (_, i) => i))
      expect(frames.every((f) => f.length === 1)).toBe(true)
      expect(t.stats().sendErrors).toBe(0)
    })
  }

  it('fair-queues many PUSH channels into one PULL, in order per sender', async () => {
    const t = transport()
    const pull = await t.pull('tcp://127.0.0.1:*')
    const pushes = await Promise.all([0, 1, 2].map(() => t.push(pull.address)))
    const { frames } = drain(pull)
    await Promise.all(pushes.flatMap((push, p) => Array.from({ length: 100 }, (_, i) => push.send(bytes(`${p}:${i}`)))))
    await waitFor(() => frames.length === 300, 'messages of all senders')
    for (const p of [0, 1, 2]) {
      const mine = frames.map((f) => text(f[0])).filter((s) => s.startsWith(`${p}:`))
      expect(mine).toEqual(Array.from({ length: 100 }, (_, i) => `${p}:${i}`))
    }
  })

  it('holds send pending while the peer does not read (back-pressure), then completes', async () => {
    const context = new Context({ blocky: false })
    const t = transport({ context, highWaterMark: 5 })
    const pull = await t.pull('inproc://zinc-backpressure')
    const push = await t.push(pull.address)
    const count = 200
    let settled = 0
    const sends = Array.from({ length: count }, (_, i) => push.send(bytes(String(i))).then(() => settled++))
    await waitFor(() => settled >= 5, 'the first sends to be queued')
    await sleep(200)
    // inproc holds at most both high-water marks plus the writer queue: far fewer than 200.
    expect(settled).toBeLessThan(count)
    const { frames } = drain(pull)
    await Promise.all(sends)
    await waitFor(() => frames.length === count, 'every message once the reader runs')
    expect(frames.map((f) => Number(text(f[0])))).toEqual(Array.from({ length: count }, (_, i) => i))
  })
})

describe('ZmqTransport: PUB/SUB', () => {
  it('fans out to every subscriber, filters topics, and keeps order', async () => {
    const t = transport()
    const pub = await t.pub('tcp://127.0.0.1:*')
    const subs = await Promise.all([0, 1, 2].map(() => t.sub(pub.address)))
    for (const sub of subs) sub.subscribe('d/')
    const readers = subs.map((sub) => drain(sub))
    await warmUp(
      pub,
      readers.map((r) => r.frames),
      'd/warm',
    )
    for (let i = 0; i < 100; i++) {
      await pub.send('other/x', bytes(`no-${i}`))
      await pub.send('d/doc', bytes(String(i)))
    }
    for (const { frames } of readers) {
      await waitFor(() => frames.filter((f) => text(f[0]) === 'd/doc').length === 100, 'every d/doc message')
      expect(frames.every((f) => f.length === 2 && text(f[0]).startsWith('d/'))).toBe(true)
      const bodies = frames.filter((f) => text(f[0]) === 'd/doc').map((f) => Number(text(f[1])))
      expect(bodies).toEqual(Array.from({ length: 100 }, (_, i) => i))
    }
  })

  it('stops delivering a prefix after unsubscribe', async () => {
    const t = transport()
    const pub = await t.pub('tcp://127.0.0.1:*')
    const sub = await t.sub(pub.address)
    sub.subscribe('a')
    sub.subscribe('z')
    const { frames } = drain(sub)
    await warmUp(pub, [frames], 'z')
    sub.unsubscribe('a')
    // Messages in flight may still arrive; once the unsubscription reaches the publisher, a
    // marker arrives with no "a" message just before it.
    let round = 0
    const timer = setInterval(() => {
      void pub.send('a', bytes(String(round)))
      void pub.send('z', bytes(`marker-${round++}`))
    }, 10)
    try {
      await waitFor(() => {
        const topics = frames.map((f) => text(f[0]))
        return topics.length >= 2 && topics.at(-1) === 'z' && topics.at(-2) === 'z'
      }, 'the unsubscription to take effect')
    } finally {
      clearInterval(timer)
    }
  })

  it('never blocks the publisher: past a full queue it drops and counts', async () => {
    const t = transport({ highWaterMark: 10 })
    const pub = await t.pub('tcp://127.0.0.1:*')
    const count = 1000
    // One synchronous burst: the queue in front of the socket cannot drain in between.
    const sends = Array.from({ length: count }, (_, i) => pub.send('t', bytes(String(i))))
    await Promise.all(sends)
    expect(pub.dropped).toBeGreaterThan(0)
    await waitFor(() => t.stats().sent + t.stats().dropped === count, 'the queue to drain')
    expect(t.stats().dropped).toBe(pub.dropped)
  })

  it('never waits for a subscriber that does not read: ZeroMQ drops for it past its high-water mark', async () => {
    const t = transport({ highWaterMark: 10 })
    const pub = await t.pub('tcp://127.0.0.1:*')
    const sub = await t.sub(pub.address)
    sub.subscribe('')
    const warm: Frames[] = []
    const reader = (async () => {
      for await (const frames of sub) {
        warm.push(frames)
        break
      }
    })()
    await warmUp(pub, [warm], 'warm-up')
    await reader
    // Nobody reads now: 20 MB is far more than both high-water marks and the kernel's buffers.
    const count = 20_000
    const body = new Uint8Array(1024)
    for (let i = 0; i < count; i++) await pub.send('d', body)
    let received = 0
    const done = (async () => {
      for await (const [topic] of sub) {
        if (text(topic) === 'end') break
        received++
      }
    })()
    const timer = setInterval(() => void pub.send('end', bytes('')), 10)
    try {
      await done
    } finally {
      clearInterval(timer)
    }
    expect(received).toBeLessThan(count)
  })

  it('shares one context for inproc between transports', async () => {
    const context = new Context({ blocky: false })
    const a = transport({ context })
    const b = transport({ context })
    const pub = await a.pub('inproc://zinc-shared')
    const sub = await b.sub(pub.address)
    sub.subscribe('')
    const { frames } = drain(sub)
    await warmUp(pub, [frames], 'hello')
    expect(text(frames[0]?.[0])).toBe('hello')
  })
})

describe('ZmqTransport: close', () => {
  it('ends pending iterators, rejects later sends and is idempotent', async () => {
    const t = transport()
    const pull = await t.pull('tcp://127.0.0.1:*')
    const push = await t.push(pull.address)
    const pub = await t.pub('tcp://127.0.0.1:*')
    const sub = await t.sub(pub.address)
    const pullReader = drain(pull)
    const subReader = drain(sub)
    const second = pull[Symbol.asyncIterator]().next()
    await pull.close()
    await sub.close()
    await pullReader.done
    await subReader.done
    await expect(second).resolves.toEqual({ done: true, value: undefined })
    expect(pull.closed).toBe(true)
    await pull.close()
    await push.close()
    await push.close()
    await expect(push.send(bytes('x'))).rejects.toBeInstanceOf(ChannelClosedError)
    await pub.close()
    await expect(pub.send('t', bytes('x'))).rejects.toBeInstanceOf(ChannelClosedError)
    expect(() => sub.subscribe('x')).toThrow(ChannelClosedError)
    expect(t.stats().channelsOpen).toBe(0)
  })

  it('rejects sends waiting on a full queue when the channel closes', async () => {
    const context = new Context({ blocky: false })
    const t = transport({ context, highWaterMark: 1 })
    const pull = await t.pull('inproc://zinc-close-waiting')
    const push = await t.push(pull.address)
    const sends = Array.from({ length: 50 }, () =>
      push.send(bytes('x')).then(
        () => 'sent',
        (err: unknown) => err,
      ),
    )
    await sleep(50)
    await push.close()
    const results = await Promise.all(sends)
    expect(results.some((r) => r instanceof ChannelClosedError)).toBe(true)
    expect(results.every((r) => r === 'sent' || r instanceof ChannelClosedError)).toBe(true)
  })

  it('closes every channel with the transport and refuses new ones', async () => {
    const t = transport()
    const pull = await t.pull('tcp://127.0.0.1:*')
    const sub = await t.sub('tcp://127.0.0.1:1')
    const reader = drain(pull)
    expect(t.stats().channelsOpen).toBe(2)
    await t.close()
    await t.close()
    await reader.done
    expect(pull.closed && sub.closed).toBe(true)
    expect(t.stats().channelsOpen).toBe(0)
    await expect(t.pull('tcp://127.0.0.1:*')).rejects.toBeInstanceOf(ClosedError)
    await expect(t.push('tcp://127.0.0.1:1')).rejects.toBeInstanceOf(ClosedError)
  })

  it('lets a consumer stop and a later one continue on the same channel', async () => {
    const t = transport()
    const pull = await t.pull('tcp://127.0.0.1:*')
    const push = await t.push(pull.address)
    for (let i = 0; i < 4; i++) await push.send(bytes(String(i)))
    const seen: string[] = []
    for await (const [body] of pull) {
      seen.push(text(body))
      if (seen.length === 2) break
    }
    for await (const [body] of pull) {
      seen.push(text(body))
      if (seen.length === 4) break
    }
    expect(seen).toEqual(['0', '1', '2', '3'])
  })
})
