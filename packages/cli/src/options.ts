import { InvalidArgumentError, Option, type Command } from 'commander'
import type { CurveKeyPair, CurveOptions } from '@zinc/transport-zmq'
import { CliError } from './errors.js'
import { LOG_FORMATS, LOG_LEVELS, type CliLogLevel, type LogFormat } from './logging.js'

/** A commander argument parser for whole numbers in [min, max]. */
export function integer(name: string, min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string) => {
    const n = Number(value)
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${name} must be a whole number, got ${JSON.stringify(value)}.`)
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be between ${min} and ${max}, got ${n}.`)
    return n
  }
}

/** Collects a repeatable option; each occurrence may also be a comma-separated list. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [
    ...(previous ?? []),
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
  ]
}

export interface CurveFlags {
  curveSecret?: string
  curvePublic?: string
  allowKey?: string[]
  serverKey?: string
}

export interface LogFlags {
  logLevel: CliLogLevel
  logFormat: LogFormat
}

export function addLogOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--log-level <level>', 'least severe log level printed').choices(LOG_LEVELS).default('info'))
    .addOption(new Option('--log-format <format>', 'log lines: pretty on a terminal, JSON otherwise (auto)').choices(LOG_FORMATS).default('auto'))
}

/** This node's own CURVE key pair (both server and client role). */
export function addKeyPairOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--curve-secret <key>', "this node's CURVE secret key, Z85 (from zinc keygen)").env('ZINC_CURVE_SECRET'))
    .addOption(new Option('--curve-public <key>', "this node's CURVE public key, Z85").env('ZINC_CURVE_PUBLIC'))
}

export function addServerKeyOption(cmd: Command, what: string): Command {
  return cmd.option('--server-key <key>', `public CURVE key of ${what}; encrypts the connection (Z85)`)
}

/**
 * Builds the transport's CURVE options from the flags.
 * - `bind`: with a key pair, bound channels are CURVE servers; `--allow-key` restricts clients.
 * - `connect`: with `--server-key`, connecting channels are CURVE clients, using this node's key
 *   pair or, when `ephemeralClient` is given (tail, stats), a fresh one it makes.
 */
export function curveOptions(flags: CurveFlags, roles: { bind: boolean; connect: boolean; ephemeralClient?: () => CurveKeyPair }): CurveOptions | undefined {
  const { curveSecret, curvePublic, allowKey, serverKey } = flags
  if ((curveSecret === undefined) !== (curvePublic === undefined)) {
    throw new CliError('CURVE needs both halves of the key pair: give --curve-secret and --curve-public together (zinc keygen makes a pair).')
  }
  const pair = curveSecret !== undefined && curvePublic !== undefined ? { publicKey: curvePublic, secretKey: curveSecret } : undefined
  if (allowKey && allowKey.length > 0 && !pair) {
    throw new CliError('--allow-key needs CURVE on: give this node a key pair with --curve-secret and --curve-public (zinc keygen makes one).')
  }
  const curve: CurveOptions = {}
  if (roles.bind && pair) curve.server = { ...pair, ...(allowKey && allowKey.length > 0 ? { allowedClientKeys: allowKey } : {}) }
  if (roles.connect && serverKey !== undefined) {
    const client = pair ?? roles.ephemeralClient?.()
    if (!client) throw new CliError("--server-key needs this node's own key pair too: add --curve-secret and --curve-public (zinc keygen makes one).")
    curve.client = { ...client, serverPublicKey: serverKey }
  }
  return curve.server || curve.client ? curve : undefined
}
