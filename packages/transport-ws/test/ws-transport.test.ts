import { createServer, type Server } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { WsClientTransport, WsServerTransport, SUBPROTOCOL, type ConnectionState } from '../src/index.js'
import { Cleanup, collect, repeatUntil, str, text, waitFor } from './helpers.js'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

const server = (options?: ConstructorParameters<typeof WsServerTransport>[0]): WsServerTransport => cleanup.add(new WsServerTransport(options), (t) => t.close())

/** A raw `ws` client speaking as `protocol`, for hostile input. */
async function rawClient(address: string, protocol: string): Promise<WebSocket> {
  const ws = cleanup.add(new WebSocket(address, protocol), (w) => w.terminate())
  ws.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('close', () => reject(new Error(`raw client to ${address} closed before opening`)))
  })
  return ws
}

describe('WsServerTransport', () => {
  it('several paths share one port: a PUB on the port a PULL picked with *', async () => {
    const host = server()
    const pull = await host.pull('ws://127.0.0.1:*/in')
    const port = new URL(pull.address).port
    expect(Number(port)).toBeGreaterThan(0)
    const pub = await host.pub(`ws://127.0.0.1:${port}/out`)
    expect(pub.address).toBe(`ws://127.0.0.1:${port}/out`)
    await expect(host.pub(`ws://127.0.0.1:${port}/in`)).rejects.toMatchObject({ code: 'ERR_ADDRESS_IN_USE' })
    // Another transport cannot take the port.
    await expect(server().pull(`ws://127.0.0.1:${port}/other`)).rejects.toMatchObject({ code: 'ERR_ADDRESS_IN_USE' })

    const client = server()
    const push = await client.push(pull.address)
    const sub = await client.sub(pub.address)
    sub.subscribe('t')
    const pulled = collect(pull)
    const subbed = collect(sub)
    await push.send(text('up'))
    await waitFor(() => pulled.length === 1, 'the PULL receives')
    await repeatUntil(
      () => pub.send('t/1', text('down')),
      () => subbed.length > 0,
      'the SUB receives',
    )
    expect(str(subbed[0]?.[0])).toBe('t/1')
  })

  it("binds on an application's http.Server (page and WebSocket on one port) and leaves it open", async () => {
    const http: Server = createServer((_req, res) => res.end('page'))
    cleanup.add(http, (s) => new Promise((resolve) => s.close(resolve)))
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    const port = (http.address() as { port: number }).port

    const host = new WsServerTransport({ server: http })
    const pull = await host.pull('ws://127.0.0.1:*/zinc/in')
    const pub = await host.pub(`ws://127.0.0.1:${port}/zinc/out`)
    expect(pull.address).toBe(`ws://127.0.0.1:${port}/zinc/in`)
    await expect(host.pub('ws://127.0.0.1:1/zinc/x')).rejects.toMatchObject({ code: 'ERR_BIND' })

    const client = server()
    const push = await client.push(pull.address)
    const pulled = collect(pull)
    await push.send(text('hello'))
    await waitFor(() => pulled.length === 1, 'the PULL on the shared server receives')
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('page')

    await host.close()
    expect(pub.closed).toBe(true)
    expect(http.listening, 'the application keeps its server').toBe(true)
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('page')
  })

  it('reconnects after the server side closes and re-binds the same port: messages flow, subscriptions are restored', async () => {
    const first = new WsServerTransport()
    const pull = await first.pull('ws://127.0.0.1:*/in')
    const port = new URL(pull.address).port
    const pub = await first.pub(`ws://127.0.0.1:${port}/out`)

    const client = server({ reconnectIntervalMs: 20, reconnectMaxMs: 200 })
    const states: ConnectionState[] = []
    client.on('state', (change) => {
      if (change.kind === 'sub') states.push(change.state)
    })
    const push = await client.push(pull.address)
    const sub = await client.sub(pub.address)
    sub.subscribe('keep')
    const received = collect(sub)
    let pulled = collect(pull)
    await push.send(text('before'))
    await waitFor(() => pulled.length === 1, 'the first PULL receives')
    await repeatUntil(
      () => pub.send('keep', text('before')),
      () => received.length > 0,
      'the SUB receives from the first PUB',
    )
    await waitFor(() => states.includes('connected'), "the SUB reported 'connected'")

    await first.close()
    await waitFor(() => sub.state === 'reconnecting' && states.includes('reconnecting'), "the SUB reports 'reconnecting'")
    // Sent while the server is down: queued (up to the high-water mark) for the reconnect.
    await push.send(text('while down'))

    const second = server()
    const pull2 = await second.pull(`ws://127.0.0.1:${port}/in`)
    const pub2 = await second.pub(`ws://127.0.0.1:${port}/out`)
    expect(pull2.address).toBe(pull.address)
    pulled = collect(pull2)
    await waitFor(() => pulled.some((f) => str(f[0]) === 'while down'), 'the queued PUSH message reaches the new PULL')
    const before = received.length
    // The SUB never subscribes again by hand: its subscription travels with the reconnect.
    await repeatUntil(
      () => pub2.send('keep/again', text('after')),
      () => received.length > before,
      'the SUB receives from the new PUB',
    )
    await pub2.send('other', text('filtered'))
    await pub2.send('keep', text('end'))
    await waitFor(() => received.some((f) => str(f[1]) === 'end'), 'the end marker arrives')
    expect(
      received.every((f) => str(f[0]).startsWith('keep')),
      'the restored subscription still filters',
    ).toBe(true)
    await waitFor(() => states.filter((s) => s === 'connected').length >= 2, "the SUB reported 'connected' again")
    expect(client.stats().reconnects).toBeGreaterThan(0)
  })

  it('counts and drops malformed and hostile frames, while a good client keeps working', async () => {
    const host = server({ maxMessageBytes: 1024 })
    const pull = await host.pull('ws://127.0.0.1:*/in')
    const port = new URL(pull.address).port
    const pub = await host.pub(`ws://127.0.0.1:${port}/out`)
    const good = server()
    const push = await good.push(pull.address)
    const sub = await good.sub(pub.address)
    sub.subscribe('')
    const pulled = collect(pull)
    const subbed = collect(sub)

    const random = new Uint8Array(64).map((_, i) => (i * 97 + 13) & 0xff)
    random[0] = 7 // no such frame type
    const attackSub = await rawClient(pub.address, SUBPROTOCOL.sub)
    let attackerReceived = 0
    attackSub.on('message', () => attackerReceived++)
    attackSub.send(random)
    attackSub.send(Uint8Array.of(1, 0xff, 0xfe, 0xfd)) // subscribe with bad UTF-8
    attackSub.send(Uint8Array.of(0, 1, 2, 3)) // data where only (un)subscribe is allowed
    attackSub.send('a text message')
    attackSub.send(new Uint8Array(0))
    const attackPush = await rawClient(pull.address, SUBPROTOCOL.push)
    attackPush.send(random)
    attackPush.send(Uint8Array.of(2, 0x61)) // unsubscribe where only data is allowed
    await waitFor(() => host.stats().malformed >= 7, 'the seven malformed frames are counted')

    // A frame over maxMessageBytes (plus framing) is refused by the WebSocket layer: that connection ends.
    const huge = await rawClient(pull.address, SUBPROTOCOL.push)
    const hugeClosed = new Promise((resolve) => huge.once('close', resolve))
    huge.send(new Uint8Array(64 * 1024))
    await hugeClosed
    await waitFor(() => host.stats().tooLarge >= 1, 'the huge frame is counted')

    // Wrong pattern or no channel at the path: refused at the handshake.
    await expect(rawClient(pull.address, SUBPROTOCOL.sub)).rejects.toThrow()
    await expect(rawClient(`ws://127.0.0.1:${port}/nothing`, SUBPROTOCOL.push)).rejects.toThrow()
    expect(host.stats().connectionsRefused).toBeGreaterThanOrEqual(2)

    await push.send(text('still fine'))
    await waitFor(() => pulled.length === 1, 'the good PUSH gets through')
    expect(str(pulled[0]?.[0])).toBe('still fine')
    await repeatUntil(
      () => pub.send('t', text('x')),
      () => subbed.length > 0,
      'the good SUB still receives',
    )
    expect(attackerReceived, 'a subscribe with bad UTF-8 subscribed to nothing').toBe(0)
    const small = await good.push(pull.address, { maxMessageBytes: 1024 })
    await expect(small.send(new Uint8Array(2048))).rejects.toMatchObject({ code: 'ERR_MESSAGE_TOO_LARGE' })
    await expect(pub.send('t', new Uint8Array(2048))).rejects.toMatchObject({ code: 'ERR_MESSAGE_TOO_LARGE' })
  })

  it('a SUB counts and drops malformed frames from a hostile publisher', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => SUBPROTOCOL.sub })
    cleanup.add(wss, (s) => {
      for (const c of s.clients) c.terminate()
      return new Promise((resolve) => s.close(resolve))
    })
    await new Promise((resolve) => wss.once('listening', resolve))
    const address = `ws://127.0.0.1:${(wss.address() as { port: number }).port}/`
    wss.on('connection', (ws) => {
      ws.on('message', () => {
        // Answer the subscription with garbage, then one good message.
        ws.send(Uint8Array.of(0, 0xff, 0xff, 1)) // topic length past the end
        ws.send(Uint8Array.of(9))
        ws.send('text')
        ws.send(Uint8Array.of(0, 0, 1, 0x74, 0x21)) // topic "t", body "!"
      })
    })
    const client = server()
    const sub = await client.sub(address)
    sub.subscribe('t')
    const received = collect(sub)
    await waitFor(() => received.length === 1, 'the good message arrives')
    expect(str(received[0]?.[0])).toBe('t')
    expect(str(received[0]?.[1])).toBe('!')
    expect(client.stats().malformed).toBe(3)
  })

  it('close ends iterators, rejects later sends, reports closed, and is idempotent', async () => {
    const host = server()
    const pull = await host.pull('ws://127.0.0.1:0/in')
    const client = server()
    const push = await client.push(pull.address)
    const sub = await client.sub('ws://127.0.0.1:1/nobody-here') // never connects: keeps retrying
    const states: ConnectionState[] = []
    sub.on('state', (s) => states.push(s))
    await waitFor(() => sub.state === 'reconnecting', 'the SUB is retrying')
    const pending = sub[Symbol.asyncIterator]().next()
    await Promise.all([client.close(), client.close()])
    expect((await pending).done).toBe(true)
    expect(sub.state).toBe('closed')
    await waitFor(() => states.includes('closed'), "the SUB reported 'closed'")
    await expect(push.send(text('late'))).rejects.toMatchObject({ code: 'ERR_CHANNEL_CLOSED' })
    await expect(client.push(pull.address)).rejects.toMatchObject({ code: 'ERR_CLOSED' })
  })

  it('rejects addresses it cannot use', async () => {
    const t = server()
    await expect(t.pull('tcp://127.0.0.1:*')).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED_ADDRESS' })
    await expect(t.pull('ws://127.0.0.1/x')).rejects.toMatchObject({ code: 'ERR_BIND' })
    await expect(t.push('ws://127.0.0.1:*/x')).rejects.toMatchObject({ code: 'ERR_CONNECT' })
    await expect(t.sub('http://127.0.0.1:1/x')).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED_ADDRESS' })
  })
})

describe('WsClientTransport (browser side)', () => {
  it('cannot bind: pull and pub reject with a clear error', async () => {
    const browser = cleanup.add(new WsClientTransport({ WebSocket }), (t) => t.close())
    expect(browser.canBind).toBe(false)
    expect(browser.name).toBe('ws')
    await expect(browser.pull('ws://127.0.0.1:*/in')).rejects.toThrow(/browser tab cannot listen, it can only connect/)
    await expect(browser.pub('ws://127.0.0.1:*/out')).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
  })

  it('connects PUSH and SUB to a WsServerTransport', async () => {
    const host = server()
    const pull = await host.pull('ws://127.0.0.1:*/in')
    const pub = await host.pub(`ws://127.0.0.1:${new URL(pull.address).port}/out`)
    const browser = cleanup.add(new WsClientTransport({ WebSocket }), (t) => t.close())
    const push = await browser.push(pull.address)
    const sub = await browser.sub(pub.address)
    sub.subscribe('d/')
    const pulled = collect(pull)
    const subbed = collect(sub)
    await push.send(text('from the tab'))
    await waitFor(() => pulled.length === 1, 'the PULL receives from the tab')
    await repeatUntil(
      () => pub.send('d/x', text('to the tab')),
      () => subbed.length > 0,
      'the tab receives',
    )
  })

  it('without a WebSocket (Node 20 has no global one) connecting rejects clearly', async () => {
    const bare = cleanup.add(new WsClientTransport({ WebSocket: undefined }), (t) => t.close())
    if ((globalThis as { WebSocket?: unknown }).WebSocket) return
    await expect(bare.push('ws://127.0.0.1:1/x')).rejects.toMatchObject({ code: 'ERR_CONNECT' })
  })
})
