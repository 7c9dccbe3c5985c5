/**
 * WebSocket addresses: `ws://host:port/path` (and `wss://`). A bound address may use port `*`
 * or `0` for "any free port"; the bound channel reports the real one. Paths are normalized the
 * way a WHATWG URL does (`/ü` becomes `/%C3%BC`), because that is what a client puts on the wire.
 */

/** A parsed `ws://` or `wss://` address. */
export interface WsAddress {
  readonly scheme: 'ws' | 'wss'
  /** Host as written, IPv6 in brackets (`[::1]`). */
  readonly host: string
  /** The port; `0` for `*` or `0`; `undefined` when omitted (the scheme's default). */
  readonly port: number | undefined
  /** Normalized path, at least `/`. */
  readonly path: string
}

/** The schemes this package speaks. */
export const WS_SCHEMES = ['ws://', 'wss://']

const PATTERN = /^(wss?):\/\/(\[[0-9a-fA-F:.]+\]|[^\s/:?#[\]@]+)(?::(\d{1,5}|\*))?(\/[^\s?#]*)?$/

/** Parses `address`; `undefined` when it is not a well-formed ws:// or wss:// address. */
export function parseWsAddress(address: string): WsAddress | undefined {
  const match = PATTERN.exec(address)
  if (!match) return undefined
  const [, scheme, host, portText, rawPath] = match
  const port = portText === undefined ? undefined : portText === '*' ? 0 : Number(portText)
  if (port !== undefined && port > 65535) return undefined
  return { scheme: scheme as 'ws' | 'wss', host: host!, port, path: normalizePath(rawPath ?? '/') }
}

/** Formats an address back, e.g. with the port a bind resolved. */
export function formatWsAddress(address: WsAddress): string {
  const port = address.port === undefined ? '' : `:${address.port}`
  return `${address.scheme}://${address.host}${port}${address.path}`
}

/** The path part of a request URL or an address path, normalized as a WHATWG URL does. */
export function normalizePath(path: string): string {
  try {
    return new URL(path, 'http://zinc.invalid').pathname
  } catch {
    return path
  }
}

/** The host as `listen()` wants it: IPv6 without brackets. */
export function listenHost(host: string): string {
  return host.startsWith('[') ? host.slice(1, -1) : host
}
