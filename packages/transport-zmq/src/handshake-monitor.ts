import type { Event, Socket } from 'zeromq'

/** Which channel pattern a socket serves. */
export type ChannelKind = 'pull' | 'pub' | 'push' | 'sub'

/** A security handshake that failed, as one side of the connection saw it. */
export interface HandshakeFailure {
  /** The channel whose socket saw the failure. */
  channel: ChannelKind
  /** `server` for a bound channel (pull, pub), `client` for a connected one (push, sub). */
  side: 'server' | 'client'
  /** The channel's own address. */
  address: string
  /** The peer's address as libzmq reports it. */
  peer: string
  /** libzmq's error code, e.g. `ERR_ZMTP_MECHANISM_MISMATCH`, `EPIPE`, or `ZAP_400`. */
  code: string
  /** What probably went wrong and what to check. */
  reason: string
}

/**
 * Watches a socket's monitor events and reports failed security handshakes, so a
 * misconfigured peer is visible instead of a silent reconnect loop. Runs until the socket
 * closes (zeromq.js ends the observer then).
 *
 * The observer's `receive()` loop is used, not its `on()` emitter mode: the emitter's
 * internal loop leaves an unhandled rejection behind when the socket closes mid-receive.
 */
export function watchHandshakes(socket: Socket, channel: ChannelKind, address: string, report: (failure: HandshakeFailure) => void): void {
  const side = channel === 'pull' || channel === 'pub' ? 'server' : 'client'
  const curve = socket.securityMechanism === 'curve'
  void (async () => {
    try {
      for await (const event of socket.events) {
        const failure = describe(event, side, curve)
        if (failure !== null) report({ channel, side, address, ...failure })
      }
    } catch {
      // The observer fails only when its socket is torn down; nothing is left to watch.
    }
  })()
}

function describe(event: Event, side: 'server' | 'client', curve: boolean): Omit<HandshakeFailure, 'channel' | 'side' | 'address'> | null {
  switch (event.type) {
    case 'handshake:error:auth':
      // On the server the ZAP handler already reported this refusal with the client's key.
      if (side === 'server') return null
      return {
        peer: event.address,
        code: `ZAP_${event.error.status}`,
        reason: `the server refused this client's credentials (ZAP status ${event.error.status}): its public key is not in the server's allowedClientKeys`,
      }
    case 'handshake:error:protocol':
      return { peer: event.address, code: event.error.code, reason: protocolReason(event.error.code, event.error.message) }
    case 'handshake:error:other': {
      const code = event.error.code
      // Whichever side detects a mismatch first hangs up; the other side only sees the hang-up.
      const reason =
        side === 'client'
          ? curve
            ? `the server closed the connection during the CURVE handshake (${code}): check that serverPublicKey is the server's public key and that the server uses CURVE`
            : `the server closed the connection during the handshake (${code}): it probably requires CURVE; configure curve.client`
          : curve
            ? `the client closed the connection during the CURVE handshake (${code}): it probably does not use CURVE, or expects another server key`
            : `the client closed the connection during the handshake (${code}): it probably uses CURVE while this server does not`
      return { peer: event.address, code, reason }
    }
    default:
      return null
  }
}

function protocolReason(code: string, message: string): string {
  switch (code) {
    case 'ERR_ZMTP_MECHANISM_MISMATCH':
      return 'the peers use different security mechanisms: one side uses CURVE and the other does not'
    case 'ERR_ZMTP_CRYPTOGRAPHIC':
    case 'ERR_ZMTP_KEY_EXCHANGE':
      return "the CURVE handshake could not be decrypted: the client's serverPublicKey is not this server's public key"
    default:
      return `ZMTP protocol error ${code}: ${message}`
  }
}
