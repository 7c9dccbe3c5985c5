import { Router, type Context } from 'zeromq'
import { BindError } from '@zinc/core'
import { z85Encode } from './z85.js'

/** The fixed address libzmq asks for authentication (ZeroMQ RFC 27), one per context. */
export const ZAP_ENDPOINT = 'inproc://zeromq.zap.01'

/** What the ZAP handler decided about one connection attempt. */
export interface ZapDecision {
  admitted: boolean
  /** The client's CURVE public key (Z85), or null for a client without CURVE. */
  clientKey: string | null
  /** The security mechanism the client used: `CURVE`, `NULL`, `PLAIN`. */
  mechanism: string
  /** The peer's network address as libzmq reports it (an IP for tcp). */
  peerAddress: string
  /** Why, in words fit for a log. */
  reason: string
}

/** One transport's admission rule, registered under its own ZAP domain. */
export interface ZapPolicy {
  /** Admitted client keys; undefined admits every client that completed the CURVE handshake. */
  allowedClientKeys: ReadonlySet<string> | undefined
  onDecision(decision: ZapDecision): void
}

/**
 * The ZAP handler of one ZeroMQ context: a Router bound to `inproc://zeromq.zap.01`.
 *
 * libzmq allows one ZAP handler per context, but several transports may share a context
 * (inproc needs it). So the handler is shared and reference-counted, and each transport
 * registers its policy under its own ZAP domain, which its server sockets carry in every
 * request. A CURVE request for a domain nobody registered is refused: fail closed.
 */
export class ZapHandler {
  static readonly #byContext = new WeakMap<Context, Promise<ZapHandler>>()

  /** Registers `policy` for `domain` on `context`'s handler, starting it if needed. */
  static async register(context: Context, domain: string, policy: ZapPolicy): Promise<() => void> {
    let pending = ZapHandler.#byContext.get(context)
    if (pending === undefined) {
      pending = ZapHandler.#start(context)
      ZapHandler.#byContext.set(context, pending)
      // A failed start must not poison the context for later attempts.
      pending.catch(() => ZapHandler.#byContext.delete(context))
    }
    const handler = await pending
    handler.#policies.set(domain, policy)
    return () => {
      if (handler.#policies.get(domain) !== policy) return
      handler.#policies.delete(domain)
      if (handler.#policies.size === 0) {
        if (ZapHandler.#byContext.get(context) === pending) ZapHandler.#byContext.delete(context)
        handler.#router.close()
      }
    }
  }

  static async #start(context: Context): Promise<ZapHandler> {
    const router = new Router({ context, linger: 0 })
    try {
      await router.bind(ZAP_ENDPOINT)
    } catch (err) {
      router.close()
      throw new BindError(`${ZAP_ENDPOINT} (the ZAP handler; another handler already serves this zmq.Context — give the ZmqTransport its own context)`, err)
    }
    const handler = new ZapHandler(router)
    void handler.#serve()
    return handler
  }

  readonly #router: Router
  readonly #policies = new Map<string, ZapPolicy>()

  private constructor(router: Router) {
    this.#router = router
  }

  async #serve(): Promise<void> {
    try {
      for await (const frames of this.#router) {
        const reply = this.#answer(frames)
        if (reply !== null) await this.#router.send(reply)
      }
    } catch {
      // Only closing the router ends this loop; a send racing that close has nobody to tell.
    }
  }

  // Request frames after the Router's [routingId, empty]:
  // version, requestId, domain, address, identity, mechanism, credentials...
  #answer(frames: Uint8Array[]): Uint8Array[] | null {
    const [routingId, delimiter, version, requestId, domainFrame, addressFrame, , mechanismFrame, ...credentials] = frames
    if (routingId === undefined || delimiter === undefined || requestId === undefined) return null
    const text = (frame: Uint8Array | undefined) => (frame === undefined ? '' : Buffer.from(frame).toString('utf8'))
    const domain = text(domainFrame)
    const mechanism = text(mechanismFrame)
    const peerAddress = text(addressFrame)
    const key = mechanism === 'CURVE' && credentials[0]?.length === 32 ? z85Encode(credentials[0]) : null
    const policy = this.#policies.get(domain)

    let admitted: boolean
    let reason: string
    if (text(version) !== '1.0') {
      admitted = false
      reason = `unsupported ZAP version "${text(version)}"`
    } else if (policy === undefined) {
      // A socket without CURVE that shares this context asked for nothing; only CURVE is guarded.
      admitted = mechanism === 'NULL'
      reason = admitted ? 'unsecured socket outside any Zinc ZAP domain' : `no policy for ZAP domain "${domain}"`
    } else if (mechanism !== 'CURVE' || key === null) {
      admitted = false
      reason = `the client used the ${mechanism || 'unknown'} mechanism; this server requires CURVE`
    } else if (policy.allowedClientKeys === undefined) {
      admitted = true
      reason = 'any CURVE client is admitted (no allowedClientKeys)'
    } else {
      admitted = policy.allowedClientKeys.has(key)
      reason = admitted ? 'client key is allowed' : 'client key is not in allowedClientKeys'
    }
    policy?.onDecision({ admitted, clientKey: key, mechanism, peerAddress, reason })
    // Reply: version, requestId, status code, status text, user id, metadata.
    return [
      routingId,
      delimiter,
      Buffer.from('1.0'),
      requestId,
      Buffer.from(admitted ? '200' : '400'),
      Buffer.from(admitted ? 'OK' : reason),
      Buffer.from(admitted && key !== null ? key : ''),
      Buffer.alloc(0),
    ]
  }
}
