import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { PeerIdentity } from '@zinc/core'
import { WebSocketServer, type WebSocket } from 'ws'
import type { ConnectionGuard, Caller } from './connection-guard.js'
import { refuse, type HttpHost, type Route } from './http-host.js'
import type { ChannelLimits } from './options.js'
import { isSession, SESSION_PARAM } from './session.js'
import type { WsTransportStats } from './stats.js'

/** What a bound channel gets from the transport that made it. */
export interface BindContext {
  readonly host: HttpHost
  readonly path: string
  readonly stats: WsTransportStats
  readonly guard: ConnectionGuard
  /** The channel closed: the transport frees its path (and maybe its server). */
  released(channel: WsBoundChannel): Promise<void>
}

/** One accepted connection: who it is and when it last completed a message or answered a ping. */
export interface Connection {
  readonly ws: WebSocket
  readonly peer: PeerIdentity
  readonly caller: Caller
  lastSeen: number
}

/**
 * What PULL and PUB share: the WebSocket endpoint at one path of an HTTP server. It admits only
 * clients of its peer pattern (by subprotocol) from allowed origins and within the per-IP cap,
 * caps message size at the WebSocket layer (`maxPayload`), drops idle connections, knows each
 * connection's session, and on close drops every connection at once (`terminate`).
 */
export abstract class WsBoundChannel implements Route {
  private readonly server: WebSocketServer
  private readonly connections = new Map<WebSocket, Connection>()
  /** session → its open connections on this channel. */
  private readonly sessions = new Map<string, number>()
  private isClosed = false
  private closing: Promise<void> | undefined
  private idleTimer: ReturnType<typeof setInterval> | undefined
  private connectionCounter = 0

  constructor(
    /** The resolved address, with the real port. */
    readonly address: string,
    /** The subprotocol a client must offer (`zinc-push.v1` for a PULL, `zinc-sub.v1` for a PUB). */
    private readonly protocol: string,
    protected readonly limits: ChannelLimits,
    protected readonly context: BindContext,
  ) {
    this.server = new WebSocketServer({
      noServer: true,
      maxPayload: limits.maxPayload,
      // Compression would let a small frame inflate past what we meant to accept, and costs CPU.
      perMessageDeflate: false,
      handleProtocols: (offered) => (offered.has(protocol) ? protocol : false),
    })
    const idle = context.guard.idleTimeoutMs
    if (idle > 0) {
      this.idleTimer = setInterval(() => this.sweepIdle(idle), Math.max(10, idle / 4))
      this.idleTimer.unref?.()
    }
  }

  get closed(): boolean {
    return this.isClosed
  }

  /** Whether a connection of `session` is open on this channel now. */
  isConnected(session: string): boolean {
    return (this.sessions.get(session) ?? 0) > 0
  }

  /** @internal Called by the HTTP host for an upgrade request on this channel's path. */
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const offered = String(request.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim())
    if (this.isClosed || !offered.includes(this.protocol)) {
      this.context.stats.connectionsRefused++
      refuse(socket, 400, `this Zinc channel accepts only WebSocket clients offering the subprotocol ${this.protocol}`)
      return
    }
    const guard = this.context.guard
    const caller = guard.caller(request)
    const refusal = guard.check(caller)
    if (refusal) {
      this.context.stats.connectionsRefused++
      refuse(socket, refusal.status, refusal.reason)
      return
    }
    const session = sessionOf(request.url)
    if (session === null) {
      this.context.stats.connectionsRefused++
      refuse(socket, 400, `the ${SESSION_PARAM} parameter must be 16 to 128 characters of A-Z, a-z, 0-9, "-" and "_"`)
      return
    }
    guard.opened(caller)
    let counted = true
    const release = () => {
      if (counted) guard.closed(caller)
      counted = false
    }
    socket.once('close', release)
    this.server.handleUpgrade(request, socket, head, (ws) => {
      if (this.isClosed) {
        ws.terminate()
        return
      }
      this.context.stats.connectionsAccepted++
      const peer: PeerIdentity = {
        // Without a session each connection is its own peer (it cannot be paired, nor gated in).
        session: session ?? `connection-${++this.connectionCounter}`,
        remoteAddress: caller.remoteAddress,
        ...(caller.origin !== undefined ? { origin: caller.origin } : {}),
      }
      const connection: Connection = { ws, peer, caller, lastSeen: Date.now() }
      this.connections.set(ws, connection)
      this.sessions.set(peer.session, (this.sessions.get(peer.session) ?? 0) + 1)
      ws.on('error', (error: Error & { code?: string }) => {
        // ws closes the connection after any of these; count why, never throw.
        if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.context.stats.tooLarge++
        else this.context.stats.malformed++
      })
      ws.on('pong', () => (connection.lastSeen = Date.now()))
      ws.on('close', () => {
        release()
        this.connections.delete(ws)
        const left = (this.sessions.get(peer.session) ?? 1) - 1
        if (left <= 0) this.sessions.delete(peer.session)
        else this.sessions.set(peer.session, left)
        this.disconnected(ws)
      })
      ws.on('message', (data, isBinary) => {
        if (this.isClosed) return
        connection.lastSeen = Date.now()
        const bytes = isBinary ? toBytes(data) : undefined
        if (bytes) this.message(ws, bytes, connection)
        else this.context.stats.malformed++
      })
      this.connected(ws, connection)
    })
  }

  /** Closes without lingering: every connection is dropped, the path is freed. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  /** A client connected. */
  protected abstract connected(ws: WebSocket, connection: Connection): void
  /** A client's binary message arrived. */
  protected abstract message(ws: WebSocket, bytes: Uint8Array, connection: Connection): void
  /** A client's connection ended. */
  protected abstract disconnected(ws: WebSocket): void
  /** Releases what the subclass holds: ends iterators; later sends reject on `closed`. */
  protected abstract ending(): void

  /** Pings connections quiet for half the timeout; drops those quiet for all of it. */
  private sweepIdle(idleMs: number): void {
    const now = Date.now()
    for (const connection of this.connections.values()) {
      const quiet = now - connection.lastSeen
      if (quiet >= idleMs) {
        this.context.stats.idleClosed++
        connection.ws.terminate()
      } else if (quiet >= idleMs / 2) {
        try {
          connection.ws.ping()
        } catch {
          // A socket closing under us: the close handler cleans up.
        }
      }
    }
  }

  private async shutdown(): Promise<void> {
    this.isClosed = true
    clearInterval(this.idleTimer)
    this.ending()
    for (const ws of this.connections.keys()) ws.terminate()
    this.connections.clear()
    this.sessions.clear()
    this.server.close()
    await this.context.released(this)
  }
}

/** The session a request URL presents: undefined when none, null when malformed. */
function sessionOf(url: string | undefined): string | undefined | null {
  const query = url?.split('?')[1]
  if (!query) return undefined
  const value = new URLSearchParams(query).get(SESSION_PARAM)
  if (value === null) return undefined
  return isSession(value) ? value : null
}

function toBytes(data: Buffer | ArrayBuffer | Buffer[]): Uint8Array | undefined {
  if (Array.isArray(data)) return Buffer.concat(data)
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  return data
}
