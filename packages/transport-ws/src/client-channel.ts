import type { TypedEmitter } from '@zinc/core'
import type { ConnectionState, WsTransportEvents } from './connection-state.js'
import type { ChannelLimits, ResolvedWsOptions } from './options.js'
import { ReconnectingSocket } from './reconnecting-socket.js'
import { SESSION_PARAM } from './session.js'
import type { WsTransportStats } from './stats.js'
import type { WebSocketFactory } from './websocket-like.js'

/** What a connecting channel gets from the transport that made it. */
export interface ClientContext {
  readonly factory: WebSocketFactory
  readonly options: ResolvedWsOptions
  readonly stats: WsTransportStats
  readonly events: TypedEmitter<WsTransportEvents>
  /** The channel closed: the transport forgets it. */
  released(channel: WsClientChannel): void
}

/** Listener of one channel's state. */
export type StateListener = (state: ConnectionState) => void

/**
 * What PUSH and SUB share: a reconnecting socket to `address`, its state as events (on the
 * channel and on the transport), and idempotent close.
 */
export abstract class WsClientChannel {
  protected readonly socket: ReconnectingSocket
  /**
   * @internal Settles once the first connection attempt opened or failed (a retry is then
   * scheduled), or the channel closed: what `push` and `sub` wait for before they resolve.
   */
  readonly firstAttempt: Promise<void>
  private settleFirstAttempt!: () => void
  private readonly listeners = new Set<StateListener>()
  private isClosed = false

  constructor(
    readonly address: string,
    readonly kind: 'push' | 'sub',
    protocol: string,
    protected readonly limits: ChannelLimits,
    protected readonly context: ClientContext,
  ) {
    this.firstAttempt = new Promise((resolve) => (this.settleFirstAttempt = resolve))
    // The session rides in the URL of both channels of a peer, so the bound side can pair them.
    const url = limits.session ? `${address}?${SESSION_PARAM}=${encodeURIComponent(limits.session)}` : address
    this.socket = new ReconnectingSocket(url, protocol, limits.maxPayload, context.factory, context.options, context.stats, {
      opened: () => this.opened(),
      message: (bytes) => this.message(bytes),
      state: (state) => this.stateChanged(state),
    })
  }

  get closed(): boolean {
    return this.isClosed
  }

  /** `connecting`, `connected`, `reconnecting` or `closed`. */
  get state(): ConnectionState {
    return this.socket.state
  }

  /**
   * Calls `listener` on a microtask whenever this channel's connection state changes (the
   * transport's `'state'` event reports the same for all its channels). Returns an unsubscribe.
   */
  on(event: 'state', listener: StateListener): () => void {
    if (event !== 'state') return () => {}
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Closes without lingering; idempotent. */
  async close(): Promise<void> {
    if (this.isClosed) return
    this.isClosed = true
    this.settleFirstAttempt()
    this.closing()
    this.socket.close()
    this.context.released(this)
  }

  /** @internal Starts connecting; called once by the transport. */
  start(): this {
    this.socket.start()
    return this
  }

  /** A connection opened. */
  protected abstract opened(): void
  /** A binary message arrived. */
  protected abstract message(bytes: Uint8Array): void
  /** Releases what the subclass holds, before the socket closes. */
  protected abstract closing(): void

  private stateChanged(state: ConnectionState): void {
    if (state !== 'connecting') this.settleFirstAttempt()
    this.context.events.emit('state', { address: this.address, kind: this.kind, state })
    for (const listener of [...this.listeners]) {
      queueMicrotask(() => listener(state))
    }
  }
}
