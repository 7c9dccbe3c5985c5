import type { IncomingMessage } from 'node:http'
import { InvalidArgumentError } from '@zinc/core'
import type { WsTransportStats } from './stats.js'

/** What a bound WebSocket channel checks before it accepts a connection, and while it lasts. */
export interface WsGuardOptions {
  /**
   * Browser origins allowed to connect (`https://app.example.com`), or a function deciding
   * from the origin and the request's `Host` header (`sameOrigin` allows a page served by this
   * same host). A connection whose `Origin` header is not allowed is refused with 403 before the upgrade,
   * so a page on another site cannot use a visitor's browser to join. A request without an
   * `Origin` header (not a browser: a Node endpoint, a CLI) is allowed: it could say anything.
   * Default: every origin.
   */
  allowedOrigins?: readonly string[] | ((origin: string, host: string | undefined) => boolean)
  /**
   * Open connections allowed from one IP address (a peer uses two: PUSH and SUB). Past it,
   * upgrades get 429. Behind a reverse proxy every peer has the proxy's address: cap there
   * instead. `0` means no limit. Default 0.
   */
  maxConnectionsPerIp?: number
  /**
   * A connection that completes no message and answers no ping for this long is dropped:
   * idle sockets, and a peer that trickles a message it never finishes (half-received frames
   * are bounded by `maxMessageBytes` in size and by this in time). Pings go out at half of it.
   * `0` turns it off. Default 60,000 ms; a Zinc endpoint heartbeats every 250 ms.
   */
  idleTimeoutMs?: number
}

/** The defaults of {@link WsGuardOptions}. */
export const GUARD_DEFAULTS = {
  /** No limit. */
  maxConnectionsPerIp: 0,
  /** One minute. */
  idleTimeoutMs: 60_000,
} as const

/** Who is asking to connect, as far as HTTP tells. */
export interface Caller {
  readonly remoteAddress: string
  readonly origin: string | undefined
  /** The `Host` header. */
  readonly host: string | undefined
}

/**
 * An `allowedOrigins` that admits pages served by the host they connect to (the origin's
 * `host:port` equals the request's `Host` header): what a server that serves its own page wants.
 */
export function sameOrigin(origin: string, host: string | undefined): boolean {
  if (!host) return false
  try {
    return new URL(origin).host.toLowerCase() === host.toLowerCase()
  } catch {
    return false
  }
}

/** A refusal of an upgrade: HTTP status and the reason sent back. */
export interface GuardRefusal {
  readonly status: 403 | 429
  readonly reason: string
}

/**
 * The admission rules of one transport's bound channels: origin allow-list and connections per
 * IP, counted over all its channels (a peer's PUSH and SUB count separately).
 */
export class ConnectionGuard {
  readonly idleTimeoutMs: number
  private readonly maxPerIp: number
  private readonly allowed: ((origin: string, host: string | undefined) => boolean) | undefined
  private readonly perIp = new Map<string, number>()

  constructor(
    options: WsGuardOptions,
    private readonly stats: WsTransportStats,
  ) {
    this.maxPerIp = options.maxConnectionsPerIp ?? GUARD_DEFAULTS.maxConnectionsPerIp
    this.idleTimeoutMs = options.idleTimeoutMs ?? GUARD_DEFAULTS.idleTimeoutMs
    if (!Number.isSafeInteger(this.maxPerIp) || this.maxPerIp < 0) {
      throw new InvalidArgumentError(`maxConnectionsPerIp must be a whole number ≥ 0 (0 means no limit), got ${this.maxPerIp}.`)
    }
    if (!(this.idleTimeoutMs >= 0)) throw new InvalidArgumentError(`idleTimeoutMs must be ≥ 0 (0 turns it off), got ${this.idleTimeoutMs}.`)
    const origins = options.allowedOrigins
    if (typeof origins === 'function') this.allowed = origins
    else if (origins !== undefined) {
      if (!Array.isArray(origins) || origins.some((o) => typeof o !== 'string')) {
        throw new InvalidArgumentError('allowedOrigins must be a list of origins like "https://app.example.com", or a function (origin) => boolean.')
      }
      const set = new Set(origins.map((o) => o.toLowerCase().replace(/\/$/, '')))
      this.allowed = (origin) => set.has(origin.toLowerCase())
    }
  }

  /** Who is calling. */
  caller(request: IncomingMessage): Caller {
    const origin = request.headers.origin
    return { remoteAddress: request.socket.remoteAddress ?? '', origin: typeof origin === 'string' ? origin : undefined, host: request.headers.host }
  }

  /** Why `caller` may not connect, or undefined. Does not count it yet. */
  check(caller: Caller): GuardRefusal | undefined {
    if (caller.origin !== undefined && this.allowed && !safely(this.allowed, caller.origin, caller.host)) {
      this.stats.originRefused++
      return { status: 403, reason: `the origin ${caller.origin} is not allowed to connect here; add it to allowedOrigins on the server` }
    }
    if (this.maxPerIp > 0 && (this.perIp.get(caller.remoteAddress) ?? 0) >= this.maxPerIp) {
      this.stats.perIpRefused++
      return { status: 429, reason: `too many connections from ${caller.remoteAddress} (at most ${this.maxPerIp}); close some and retry` }
    }
    return undefined
  }

  /** A connection of `caller` opened; call {@link closed} when it ends. */
  opened(caller: Caller): void {
    this.perIp.set(caller.remoteAddress, (this.perIp.get(caller.remoteAddress) ?? 0) + 1)
  }

  closed(caller: Caller): void {
    const count = (this.perIp.get(caller.remoteAddress) ?? 1) - 1
    if (count <= 0) this.perIp.delete(caller.remoteAddress)
    else this.perIp.set(caller.remoteAddress, count)
  }
}

function safely(allowed: (origin: string, host: string | undefined) => boolean, origin: string, host: string | undefined): boolean {
  try {
    return allowed(origin, host) === true
  } catch {
    return false
  }
}
