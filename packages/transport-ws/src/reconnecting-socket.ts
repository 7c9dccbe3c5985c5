import { reconnectDelay } from './backoff.js'
import type { ConnectionState } from './connection-state.js'
import { binaryOf } from './framing.js'
import type { ResolvedWsOptions } from './options.js'
import type { WsTransportStats } from './stats.js'
import { OPEN, type WebSocketFactory, type WebSocketLike } from './websocket-like.js'

/** What a connecting channel hears from its socket. */
export interface SocketHandlers {
  /** A connection opened: resend subscriptions, flush queued sends. */
  opened(): void
  /** A binary message arrived on the open connection. */
  message(bytes: Uint8Array): void
  /** The state changed (for events). */
  state(state: ConnectionState): void
}

const noop = (): void => {}

/**
 * One WebSocket connection that comes back: when it drops or fails to open, it waits
 * (exponential back-off with jitter) and connects again, until `close()`. Only the current
 * socket's callbacks are listened to, so a late event of an abandoned socket changes nothing.
 */
export class ReconnectingSocket {
  private socket: WebSocketLike | undefined
  private current: ConnectionState = 'connecting'
  private attempt = 0
  private retryTimer: ReturnType<typeof setTimeout> | undefined
  private openTimer: ReturnType<typeof setTimeout> | undefined

  constructor(
    private readonly url: string,
    private readonly protocol: string,
    private readonly maxPayload: number,
    private readonly factory: WebSocketFactory,
    private readonly options: ResolvedWsOptions,
    private readonly stats: WsTransportStats,
    private readonly handlers: SocketHandlers,
  ) {}

  get state(): ConnectionState {
    return this.current
  }

  /** Whether a send now goes onto an open connection. */
  get isOpen(): boolean {
    return this.current === 'connected' && this.socket?.readyState === OPEN
  }

  get bufferedAmount(): number {
    return this.socket?.bufferedAmount ?? 0
  }

  start(): void {
    this.connect()
  }

  /** Sends on the open connection; callers check `isOpen` first. */
  send(frame: Uint8Array): void {
    this.socket?.send(frame)
  }

  close(): void {
    if (this.current === 'closed') return
    this.clearTimers()
    this.drop()
    this.setState('closed')
  }

  private connect(): void {
    this.retryTimer = undefined
    if (this.current === 'closed') return
    let socket: WebSocketLike
    try {
      socket = this.factory(this.url, this.protocol, { maxPayload: this.maxPayload })
    } catch {
      this.retry()
      return
    }
    this.socket = socket
    socket.binaryType = 'arraybuffer'
    socket.onopen = () => {
      if (this.socket !== socket) return
      clearTimeout(this.openTimer)
      this.attempt = 0
      this.setState('connected')
      this.handlers.opened()
    }
    socket.onmessage = (event) => {
      if (this.socket !== socket) return
      const bytes = binaryOf(event.data)
      if (bytes) this.handlers.message(bytes)
      else this.stats.malformed++
    }
    // An error is always followed by a close event, which is where we act.
    socket.onerror = (event) => {
      if ((event as { error?: { code?: string } }).error?.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.stats.tooLarge++
    }
    socket.onclose = () => {
      if (this.socket !== socket) return
      this.retry()
    }
    // A server that accepts TCP but never answers the upgrade would otherwise hold us forever.
    this.openTimer = setTimeout(() => {
      if (this.socket === socket && socket.readyState !== OPEN) this.retry()
    }, this.options.connectTimeoutMs)
  }

  private retry(): void {
    if (this.current === 'closed') return
    this.clearTimers()
    this.drop()
    this.setState('reconnecting')
    this.stats.reconnects++
    this.retryTimer = setTimeout(() => this.connect(), reconnectDelay(this.attempt++, this.options))
  }

  /** Forgets the current socket and closes it without waiting for anything. */
  private drop(): void {
    const socket = this.socket
    this.socket = undefined
    if (!socket) return
    socket.onopen = noop
    socket.onmessage = noop
    socket.onclose = noop
    // Never null: `ws` would then have no 'error' listener, and an error event would crash.
    socket.onerror = noop
    try {
      if (socket.terminate) socket.terminate()
      else socket.close(1000, 'closed')
    } catch {
      // Closing a socket that failed to open may throw in some browsers; it is gone either way.
    }
  }

  private clearTimers(): void {
    clearTimeout(this.retryTimer)
    clearTimeout(this.openTimer)
    this.retryTimer = undefined
    this.openTimer = undefined
  }

  private setState(state: ConnectionState): void {
    if (this.current === state) return
    this.current = state
    this.handlers.state(state)
  }
}
