import { curveKeyPair } from 'zeromq'
import { InvalidArgumentError } from '@zinc/core'
import { isZ85Key } from './z85.js'

/** A CURVE key pair as 40-character Z85 strings. Keep `secretKey` secret. */
export interface CurveKeyPair {
  publicKey: string
  secretKey: string
}

/** Generates a new CURVE key pair (Z85) with libzmq's `zmq_curve_keypair`. */
export function generateKeyPair(): CurveKeyPair {
  const { publicKey, secretKey } = curveKeyPair()
  return { publicKey, secretKey }
}

/** The binding side's CURVE role: what `pull` and `pub` channels use. */
export interface CurveServerOptions {
  /** This endpoint's server public key: the one its clients put in `serverPublicKey`. */
  publicKey: string
  /** This endpoint's server secret key. */
  secretKey: string
  /**
   * Client public keys admitted by the ZAP handler. Omitted: every client that completes
   * the CURVE handshake is admitted (traffic is still encrypted and the server authenticated).
   * Empty: nobody is admitted.
   */
  allowedClientKeys?: readonly string[]
}

/** The connecting side's CURVE role: what `push` and `sub` channels use. */
export interface CurveClientOptions {
  /** This endpoint's client public key: the one the server must list in `allowedClientKeys`. */
  publicKey: string
  /** This endpoint's client secret key. */
  secretKey: string
  /**
   * The public key of the server this transport connects to. May be omitted here and given
   * per channel (`push(address, { serverPublicKey })`) when parents differ.
   */
  serverPublicKey?: string
}

/**
 * CURVE security for a transport. An endpoint usually plays both roles: it binds as a server
 * (its children connect to it) and connects as a client (to its parent). Each role is
 * configured on its own; a role left out runs unsecured. Both roles may use the same key pair.
 *
 * CURVE protects tcp:// and ipc://. inproc:// never leaves the process and is not secured.
 */
export interface CurveOptions {
  /** Secures bound channels (`pull`, `pub`) and installs the ZAP allow-list. */
  server?: CurveServerOptions
  /** Secures connected channels (`push`, `sub`). */
  client?: CurveClientOptions
}

/** Throws `InvalidArgumentError` naming the first malformed key, so a typo fails at startup. */
export function validateCurveOptions(curve: CurveOptions): void {
  const check = (key: unknown, name: string) => {
    if (!isZ85Key(key)) {
      throw new InvalidArgumentError(`curve.${name} must be a 40-character Z85 CURVE key (as generateKeyPair() returns), got ${describeKey(key)}.`)
    }
  }
  if (curve.server !== undefined) {
    check(curve.server.publicKey, 'server.publicKey')
    check(curve.server.secretKey, 'server.secretKey')
    curve.server.allowedClientKeys?.forEach((key, i) => check(key, `server.allowedClientKeys[${i}]`))
  }
  if (curve.client !== undefined) {
    check(curve.client.publicKey, 'client.publicKey')
    check(curve.client.secretKey, 'client.secretKey')
    if (curve.client.serverPublicKey !== undefined) check(curve.client.serverPublicKey, 'client.serverPublicKey')
  }
}

/** Checks a per-channel server key the same way. */
export function validateServerKey(key: unknown): asserts key is string {
  if (!isZ85Key(key)) {
    throw new InvalidArgumentError(`serverPublicKey must be a 40-character Z85 CURVE key, got ${describeKey(key)}.`)
  }
}

function describeKey(key: unknown): string {
  // Never echo a value that may be a secret key; its shape is enough to find the mistake.
  return typeof key === 'string' ? `a string of ${key.length} characters` : typeof key
}
