import { InvalidArgumentError, type ChannelOptions } from '@zinc/core'
import { checkCount, checkPositive, resolveChannelOptions } from '@zinc/core/internal'
import { FRAME_OVERHEAD } from './framing.js'
import { isSession } from './session.js'

/** Options shared by both WebSocket transports. Every channel starts from these. */
export interface WsTransportOptions {
  /**
   * Messages queued per connection before a PUB drops (per subscriber) or a PUSH waits; also
   * the receive queue of a SUB (drops past it) and of each PULL connection (stops reading it).
   * `0` means no limit. Default 1000, ZeroMQ's default.
   */
  highWaterMark?: number
  /**
   * Bytes a PUB lets pile up in one subscriber's socket before it drops for that subscriber, and
   * a PULL lets one connection queue unread before it stops reading it, so a few huge messages
   * cannot exhaust memory under a high message count. Default 64 MiB.
   */
  highWaterMarkBytes?: number
  /** Largest message body in bytes; larger inbound ones are refused, larger sends rejected. Default 16 MiB. */
  maxMessageBytes?: number
  /** First wait before reconnecting a lost PUSH or SUB connection. Default 100 ms. */
  reconnectIntervalMs?: number
  /** The reconnect wait doubles up to this bound. Default 5000 ms. */
  reconnectMaxMs?: number
  /**
   * Share of each reconnect wait that is random (0 to 1), so clients of a restarted server do
   * not all come back in the same millisecond. Default 0.5.
   */
  reconnectJitter?: number
  /** A connection attempt not open after this long is abandoned and retried. Default 10,000 ms. */
  connectTimeoutMs?: number
}

/** The defaults of {@link WsTransportOptions}, in one place. */
export const WS_DEFAULTS = {
  highWaterMark: 1000,
  highWaterMarkBytes: 64 * 1024 * 1024,
  maxMessageBytes: 16 * 1024 * 1024,
  reconnectIntervalMs: 100,
  reconnectMaxMs: 5000,
  reconnectJitter: 0.5,
  connectTimeoutMs: 10_000,
} as const satisfies Required<WsTransportOptions>

export type ResolvedWsOptions = { -readonly [K in keyof typeof WS_DEFAULTS]: number }

/** The limits of one channel: the transport's, overridden by the channel's options. */
export interface ChannelLimits {
  /** `Infinity` when the option was 0. */
  highWaterMark: number
  highWaterMarkBytes: number
  maxMessageBytes: number
  /** What the WebSocket layer may accept in one message: the body limit plus framing. */
  maxPayload: number
  /** Connecting channels: the session presented to the bound side (see `ChannelOptions.session`). */
  session?: string
  /** Bound PUB: deliver only admitted topics per session. */
  gated: boolean
}

/** Fills defaults; throws `InvalidArgumentError` on values that cannot work. */
export function resolveWsOptions(options: WsTransportOptions = {}): ResolvedWsOptions {
  const resolved: ResolvedWsOptions = { ...WS_DEFAULTS }
  for (const key of Object.keys(WS_DEFAULTS) as (keyof ResolvedWsOptions)[]) {
    const value = options[key]
    if (value !== undefined) resolved[key] = value
  }
  checkCount('highWaterMark', resolved.highWaterMark)
  checkPositive('highWaterMarkBytes', resolved.highWaterMarkBytes)
  checkPositive('maxMessageBytes', resolved.maxMessageBytes)
  checkPositive('reconnectIntervalMs', resolved.reconnectIntervalMs)
  checkPositive('reconnectMaxMs', resolved.reconnectMaxMs)
  checkPositive('connectTimeoutMs', resolved.connectTimeoutMs)
  if (!(resolved.reconnectJitter >= 0 && resolved.reconnectJitter <= 1)) {
    throw new InvalidArgumentError(`reconnectJitter must be between 0 and 1, got ${resolved.reconnectJitter}.`)
  }
  return resolved
}

/** The limits of a channel opened with `options` on a transport with `defaults`. */
export function channelLimits(defaults: ResolvedWsOptions, options: ChannelOptions = {}, session?: string): ChannelLimits {
  const { highWaterMark, maxMessageBytes } = resolveChannelOptions(options, defaults)
  return {
    highWaterMark,
    highWaterMarkBytes: defaults.highWaterMarkBytes,
    maxMessageBytes,
    maxPayload: maxMessageBytes + FRAME_OVERHEAD,
    session: checkSession(options.session ?? session),
    gated: options.gated === true,
  }
}

function checkSession(session: string | undefined): string | undefined {
  if (session === undefined) return undefined
  if (!isSession(session)) {
    throw new InvalidArgumentError(`A session must be 16 to 128 characters of A-Z, a-z, 0-9, "-" and "_", got ${JSON.stringify(session.slice(0, 40))}.`)
  }
  return session
}
