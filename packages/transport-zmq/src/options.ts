import type { Context } from 'zeromq'
import { InvalidArgumentError } from '@zinc/core'
import { resolveChannelOptions } from '@zinc/core/internal'
import type { ChannelOptions, Logger } from '@zinc/core'
import { validateCurveOptions, type CurveOptions } from './curve.js'

/** Options of a {@link ZmqTransport}. Every channel it makes starts from these. */
export interface ZmqTransportOptions {
  /**
   * Messages queued per connection (ZeroMQ's send/receive high-water marks) and in the
   * queue in front of each sending socket. Default 1000, ZeroMQ's own default.
   */
  highWaterMark?: number
  /**
   * How long a closed socket may keep unsent messages. Default 0: `close()` discards them
   * and never delays the process's exit.
   */
  lingerMs?: number
  /** Wait before reconnecting a lost or refused connection. Default 100 ms. */
  reconnectIntervalMs?: number
  /** If set, the reconnect wait doubles up to this bound (exponential back-off). */
  reconnectMaxMs?: number
  /**
   * Largest inbound message in bytes. ZeroMQ disconnects a peer that sends a larger one (it
   * reconnects after `reconnectIntervalMs`), so the message is dropped. Default: no limit.
   */
  maxMessageBytes?: number
  /** CURVE encryption and authentication; see {@link CurveOptions}. Default: none. */
  curve?: CurveOptions
  /**
   * The ZeroMQ context for every socket. inproc:// reaches only sockets of the same context,
   * so transports that talk over inproc:// must share one. Default: zeromq's global context,
   * or a new context of this transport's own when `curve` is set (libzmq has one ZAP handler
   * per context; several curve transports may still share one, each under its own ZAP domain).
   */
  context?: Context
  /**
   * Where refused connections and failed handshakes are logged (at `warn`), besides the
   * transport's events and `stats()`. Any pino-compatible logger fits. Default: none.
   */
  logger?: ZmqLogger
}

/** The part of Zinc's `Logger` (pino-compatible) the transport writes to. */
export type ZmqLogger = Pick<Logger, 'warn'>

/** Options of a connecting channel (`push`, `sub`). */
export interface ZmqConnectOptions extends ChannelOptions {
  /** The server's CURVE public key for this connection, overriding `curve.client.serverPublicKey`. */
  serverPublicKey?: string
}

/** The transport's options with defaults filled in. */
export interface ResolvedOptions {
  highWaterMark: number
  lingerMs: number
  reconnectIntervalMs: number
  reconnectMaxMs: number
  maxMessageBytes: number | undefined
  curve: CurveOptions | undefined
  logger: ZmqLogger | undefined
}

/** Fills defaults and throws `InvalidArgumentError` for values ZeroMQ would reject later. */
export function resolveOptions(options: ZmqTransportOptions): ResolvedOptions {
  const resolved: ResolvedOptions = {
    highWaterMark: options.highWaterMark ?? 1000,
    lingerMs: options.lingerMs ?? 0,
    reconnectIntervalMs: options.reconnectIntervalMs ?? 100,
    reconnectMaxMs: options.reconnectMaxMs ?? 0,
    maxMessageBytes: options.maxMessageBytes,
    curve: options.curve,
    logger: options.logger,
  }
  checkCount('highWaterMark', resolved.highWaterMark)
  checkCount('lingerMs', resolved.lingerMs)
  checkCount('reconnectIntervalMs', resolved.reconnectIntervalMs)
  checkCount('reconnectMaxMs', resolved.reconnectMaxMs)
  if (resolved.maxMessageBytes !== undefined) checkCount('maxMessageBytes', resolved.maxMessageBytes)
  if (resolved.curve !== undefined) validateCurveOptions(resolved.curve)
  return resolved
}

/** Checks the per-channel overrides the same way. */
export function checkChannelOptions(options: ChannelOptions | undefined): void {
  resolveChannelOptions(options, { highWaterMark: 0 })
}

function checkCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${name} must be a whole number ≥ 0, got ${value}.`)
  }
}
