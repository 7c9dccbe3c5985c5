import type { EndpointAddresses } from '@zinc/core'
import { CliError } from './errors.js'

/**
 * Address parsing for the command line. An endpoint address is ZeroMQ's own
 * (`tcp://host:port`, `ipc:///path`, `inproc://name`); the CLI also accepts the shorthands
 * `host:port` (tcp) and, where it connects, a bare `port` (tcp on 127.0.0.1).
 *
 * A pair (`--bind`, `--join`) is `INBOUND,OUTBOUND`; the outbound part may be just a port
 * (`tcp://0.0.0.0:7000,7001`, `localhost:7000,7001`), and a single tcp address with the
 * wildcard port (`tcp://127.0.0.1:*`) binds both channels on fresh ports.
 */

export type AddressUse = 'bind' | 'connect'

const SCHEME = /^(tcp|ipc|inproc):\/\/(.*)$/
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.*-]+):([^:]+)$/
const EXAMPLES = 'tcp://HOST:PORT, HOST:PORT, ipc:///path/to/socket or inproc://name'

function badAddress(input: string, why: string): CliError {
  return new CliError(`Bad address ${JSON.stringify(input)}: ${why}. Use ${EXAMPLES}.`)
}

function checkPort(input: string, port: string, use: AddressUse): void {
  if (port === '*') {
    if (use === 'connect') throw badAddress(input, 'the wildcard port * can only be bound, not connected to; give the real port (zinc host prints it)')
    return
  }
  if (!/^\d+$/.test(port)) throw badAddress(input, `the port ${JSON.stringify(port)} is not a number`)
  const n = Number(port)
  if (n < 1 || n > 65535) throw badAddress(input, `the port ${n} is outside 1-65535`)
}

/** Parses one address into ZeroMQ's syntax. Throws a `CliError` saying what is wrong. */
export function parseAddress(input: string, use: AddressUse = 'connect'): string {
  const text = input.trim()
  if (text === '') throw badAddress(input, 'it is empty')
  const m = SCHEME.exec(text)
  if (m) {
    const [, scheme, rest = ''] = m
    if (rest === '') throw badAddress(input, `nothing follows ${scheme}://`)
    if (scheme === 'tcp') {
      const hp = HOST_PORT.exec(rest)
      if (!hp) throw badAddress(input, 'a tcp address is tcp://HOST:PORT')
      checkPort(input, hp[2]!, use)
    }
    if (scheme === 'inproc' && use === 'connect') {
      throw badAddress(input, 'inproc:// only reaches sockets inside one process, so another process cannot connect to it')
    }
    return text
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) throw badAddress(input, `the scheme ${text.split('://')[0]}:// is not supported`)
  if (/^\d+$/.test(text)) {
    if (use === 'bind') throw badAddress(input, 'a bare port is only accepted where the CLI connects; to bind, give the interface too (e.g. 127.0.0.1:7000 or 0.0.0.0:7000)')
    checkPort(input, text, use)
    return `tcp://127.0.0.1:${text}`
  }
  const hp = HOST_PORT.exec(text)
  if (hp) {
    checkPort(input, hp[2]!, use)
    return `tcp://${text}`
  }
  throw badAddress(input, 'it is not an address')
}

/** The port part of a tcp address, or undefined. */
function tcpParts(address: string): { host: string; port: string } | undefined {
  const m = /^tcp:\/\/(.+):([^:\]]+)$/.exec(address)
  return m ? { host: m[1]!, port: m[2]! } : undefined
}

/** Parses `INBOUND,OUTBOUND` (see the module comment). `flag` names the option in errors. */
export function parseAddressPair(input: string, use: AddressUse, flag = use === 'bind' ? '--bind' : '--join'): EndpointAddresses {
  const parts = input.split(',').map((p) => p.trim())
  const example = use === 'bind' ? 'tcp://0.0.0.0:7000,7001 or tcp://127.0.0.1:*,*' : 'tcp://10.0.0.5:7000,7001 (the addresses zinc host printed)'
  if (parts.length > 2 || parts.some((p) => p === '')) {
    throw new CliError(`${flag} takes two addresses, INBOUND,OUTBOUND, separated by one comma, e.g. ${example}; got ${JSON.stringify(input)}.`)
  }
  const inbound = parseAddress(parts[0]!, use)
  if (parts.length === 1) {
    const tcp = tcpParts(inbound)
    if (use === 'bind' && tcp?.port === '*') return { inbound, outbound: inbound }
    throw new CliError(`${flag} needs an inbound and an outbound address, e.g. ${example}; got only ${JSON.stringify(input)}.`)
  }
  const second = parts[1]!
  let outbound: string
  const tcp = tcpParts(inbound)
  if (/^(\d+|\*)$/.test(second)) {
    if (!tcp) throw new CliError(`${flag}: the outbound part ${JSON.stringify(second)} is a bare port, which only works after a tcp:// inbound address; give a full address instead.`)
    outbound = `tcp://${tcp.host}:${second}`
    checkPort(outbound, second, use)
  } else {
    outbound = parseAddress(second, use)
  }
  if (inbound === outbound && tcp?.port !== '*') {
    throw new CliError(`${flag}: the inbound and outbound addresses are both ${inbound}; they must differ (e.g. ports 7000,7001).`)
  }
  return { inbound, outbound }
}

/** Where `zinc stats` reads from: the HTTP stats server, or a node's PUB (heartbeats). */
export type StatsTarget = { kind: 'http'; url: string } | { kind: 'pub'; address: string }

/** `http://…` / `https://…` are stats servers; anything else is an outbound (PUB) address. */
export function parseStatsTarget(input: string): StatsTarget {
  const text = input.trim()
  if (/^https?:\/\//i.test(text)) {
    let url: URL
    try {
      url = new URL(text)
    } catch {
      throw new CliError(`Bad URL ${JSON.stringify(input)}: use http://127.0.0.1:PORT, the stats address zinc host printed.`)
    }
    return { kind: 'http', url: url.origin }
  }
  return { kind: 'pub', address: parseAddress(text, 'connect') }
}
