import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { refuse, type HttpHost, type Route } from './http-host.js'
import type { ChannelLimits } from './options.js'
import type { WsTransportStats } from './stats.js'

/** What a bound channel gets from the transport that made it. */
export interface BindContext {
  readonly host: HttpHost
  readonly path: string
  readonly stats: WsTransportStats
  /** The channel closed: the transport frees its path (and maybe its server). */
  released(channel: WsBoundChannel): Promise<void>
}

/**
 * What PULL and PUB share: the WebSocket endpoint at one path of an HTTP server. It admits only
 * clients of its peer pattern (by subprotocol), caps message size at the WebSocket layer
 * (`maxPayload`), and on close drops every connection at once (`terminate`), so nothing lingers.
 */
export abstract class WsBoundChannel implements Route {
  private readonly server: WebSocketServer
  private readonly clients = new Set<WebSocket>()
  private isClosed = false
  private closing: Promise<void> | undefined

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
  }

  get closed(): boolean {
    return this.isClosed
  }

  /** @internal Called by the HTTP host for an upgrade request on this channel's path. */
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const offered = String(request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim())
    if (this.isClosed || !offered.includes(this.protocol)) {
      this.context.stats.connectionsRefused++
      refuse(socket, 400, `this Zinc channel accepts only WebSocket clients offering the subprotocol ${this.protocol}`)
      return
    }
    this.server.handleUpgrade(request, socket, head, (ws) => {
      if (this.isClosed) {
        ws.terminate()
        return
      }
      this.context.stats.connectionsAccepted++
      this.clients.add(ws)
      ws.on('error', (error: Error & { code?: string }) => {
        // ws closes the connection after any of these; count why, never throw.
        if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.context.stats.tooLarge++
        else this.context.stats.malformed++
      })
      ws.on('close', () => {
        this.clients.delete(ws)
        this.disconnected(ws)
      })
      ws.on('message', (data, isBinary) => {
        if (this.isClosed) return
        const bytes = isBinary ? toBytes(data) : undefined
        if (bytes) this.message(ws, bytes)
        else this.context.stats.malformed++
      })
      this.connected(ws)
    })
  }

  /** Closes without lingering: every connection is dropped, the path is freed. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  /** A client connected. */
  protected abstract connected(ws: WebSocket): void
  /** A client's binary message arrived. */
  protected abstract message(ws: WebSocket, bytes: Uint8Array): void
  /** A client's connection ended. */
  protected abstract disconnected(ws: WebSocket): void
  /** Releases what the subclass holds: ends iterators; later sends reject on `closed`. */
  protected abstract ending(): void

  private async shutdown(): Promise<void> {
    this.isClosed = true
    this.ending()
    for (const ws of this.clients) ws.terminate()
    this.clients.clear()
    this.server.close()
    await this.context.released(this)
  }
}

function toBytes(data: Buffer | ArrayBuffer | Buffer[]): Uint8Array | undefined {
  if (Array.isArray(data)) return Buffer.concat(data)
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  return data
}
