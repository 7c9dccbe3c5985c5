import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import type { Duplex } from 'node:stream'
import { AddressInUseError, BindError } from '@zinc/core'
import { listenHost, normalizePath } from './address.js'
import type { WsTransportStats } from './stats.js'

/**
 * Connections the kernel may hold for us before we accept them (it caps this at
 * net.core.somaxconn, 4096 on current Linux). Node's default, 511, overflowed when a lecture's
 * tabs connected at once (two connections each): the kernel dropped the rest of the SYNs and
 * each such tab tried again only after its TCP retransmission timeout (1 s, then 3 s, 7 s…):
 * 43,000 overflows while 1,000 tabs joined one busy edge, and joins of tens of seconds.
 */
const LISTEN_BACKLOG = 4096

/** A bound channel's entry point for the upgrade requests of its path. */
export interface Route {
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void
}

/**
 * One HTTP server and the bound channels on it, one per path: `ws://127.0.0.1:40001/in` and
 * `…/out` share a port. The server is either made here (and closed with its last channel) or
 * handed in by the application (and then never closed here, only un-hooked).
 */
export class HttpHost {
  private readonly routes = new Map<string, Route>()
  private readonly sockets = new Set<Duplex>()
  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => this.upgrade(request, socket, head)

  private constructor(
    readonly server: Server | HttpsServer,
    /** The port the server listens on. */
    readonly port: number,
    /** Whether this host made the server (and so closes it). */
    readonly owned: boolean,
    private readonly stats: WsTransportStats,
  ) {
    server.on('upgrade', this.onUpgrade)
  }

  /** Listens on `host:port` (0 = any free port). Rejects with `AddressInUseError` or `BindError`. */
  static async listen(address: string, host: string, port: number, stats: WsTransportStats, tls?: { key: string | Buffer; cert: string | Buffer }): Promise<HttpHost> {
    // A plain HTTP request gets a hint; the WebSocket upgrades are routed by path.
    const hint: RequestListener = (_request, response) => {
      response.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' })
      response.end('This is a Zinc WebSocket endpoint: connect with a WebSocket.\n')
    }
    const server: Server | HttpsServer = tls ? createHttpsServer({ key: tls.key, cert: tls.cert }, hint) : createServer(hint)
    // A request (an upgrade included) whose headers do not arrive in time is dropped.
    server.headersTimeout = 10_000
    server.requestTimeout = 15_000
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen({ port, host: listenHost(host), backlog: LISTEN_BACKLOG }, () => {
          server.off('error', reject)
          resolve()
        })
      })
    } catch (error) {
      if ((error as { code?: string }).code === 'EADDRINUSE') throw new AddressInUseError(address)
      throw new BindError(address, error)
    }
    // After listening, errors belong to single connections; none may crash the process.
    server.on('error', () => {})
    const info = server.address()
    const hostObject = new HttpHost(server, typeof info === 'object' && info ? info.port : port, true, stats)
    server.on('connection', (socket) => hostObject.track(socket))
    return hostObject
  }

  /** Uses an application's server, which must be listening already. */
  static adopt(address: string, server: Server | HttpsServer, stats: WsTransportStats): HttpHost {
    const info = server.address()
    if (!server.listening || typeof info !== 'object' || !info) {
      throw new BindError(address, 'the http.Server given in options.server is not listening; call server.listen() and wait for it before binding')
    }
    return new HttpHost(server, info.port, false, stats)
  }

  get empty(): boolean {
    return this.routes.size === 0
  }

  has(path: string): boolean {
    return this.routes.has(path)
  }

  add(path: string, route: Route): void {
    this.routes.set(path, route)
  }

  /** Removes a path; with the last one gone, closes (or un-hooks) the server. */
  async remove(path: string): Promise<void> {
    this.routes.delete(path)
    if (this.routes.size > 0) return
    this.server.off('upgrade', this.onUpgrade)
    if (!this.owned) return
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    // Upgraded and half-open sockets would hold `close` (and the process) open: end them now.
    for (const socket of this.sockets) socket.destroy()
    if ('closeAllConnections' in this.server) this.server.closeAllConnections()
    await closed
  }

  private track(socket: Duplex): void {
    this.sockets.add(socket)
    socket.on('close', () => this.sockets.delete(socket))
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const route = this.routes.get(normalizePath((request.url ?? '/').split('?')[0] ?? '/'))
    if (route) {
      route.upgrade(request, socket, head)
      return
    }
    // On an application's server another 'upgrade' listener may own this path.
    if (!this.owned && this.server.listenerCount('upgrade') > 1) return
    refuse(socket, 404, 'no Zinc channel is bound at this path')
    this.stats.connectionsRefused++
  }
}

/** Answers an upgrade request with an HTTP error and drops the connection. */
export function refuse(socket: Duplex, status: number, reason: string): void {
  socket.on('error', () => {})
  const text = STATUS_TEXT[status] ?? 'Bad Request'
  socket.once('finish', () => socket.destroy())
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(reason)}\r\n\r\n${reason}`)
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests' }
