import { randomBytes } from 'node:crypto'
import { InvalidArgumentError, type PeerIdentity } from '@zinc/core'

/** The part of a ROUTER socket the tracker needs: routed sends. */
export interface RoutedSender {
  readonly closed: boolean
  send(frames: [Uint8Array, Uint8Array]): Promise<void>
}

/** How long after an ambiguous notification a second probe is made (libzmq may not have dropped the pipe yet). */
const RECHECK_MS = 200

/** A DEALER's routing id starts with this, so it never starts with the zero byte libzmq reserves. */
const PRESENTED = 'z'

/**
 * The routing id a connecting channel presents: its `session`, so that every connection of
 * that socket (it reconnects) presents the same one, as a WebSocket client sends its session
 * with each connection; or a random one when it has none. Either is never sent to other peers.
 */
export function routingIdFor(session: string | undefined): string {
  if (session === undefined) return PRESENTED + randomBytes(16).toString('hex')
  if (Buffer.byteLength(session) > 254) {
    throw new InvalidArgumentError(`A ZeroMQ session is carried in a routing id of at most 255 bytes; this one is ${Buffer.byteLength(session)} bytes: use a shorter session.`)
  }
  return PRESENTED + session
}

/** The sessions of routing ids that carry none (no presented session can start with it). */
const ANONYMOUS = 'anonymous:'

/**
 * The session a routing id stands for: the one a Zinc DEALER presented, or, for an id libzmq
 * made up (a peer that presented none, or an old connection handed over to a new one) or one
 * that is not a session (not UTF-8, or posing as an anonymous one), a name of its own. Two
 * routing ids never share a session.
 */
export function sessionOf(routingId: Uint8Array): string {
  const bytes = Buffer.from(routingId.buffer, routingId.byteOffset, routingId.byteLength)
  if (bytes[0] === PRESENTED.charCodeAt(0)) {
    const session = bytes.toString('utf8', 1)
    if (!session.startsWith(ANONYMOUS) && Buffer.from(session).equals(bytes.subarray(1))) return session
  }
  return ANONYMOUS + bytes.toString('hex')
}

/**
 * Which connections of one bound ROUTER are open, by routing id.
 *
 * libzmq tells a ROUTER with `ROUTER_NOTIFY` when a peer connects and when it goes, each as an
 * empty message from that peer; but a connect, a disconnect, a reconnect handed over under the
 * same id and an empty message the peer sent itself all look alike, and a disconnect is lost
 * when that peer's queue is full. So a notification only says "look again", and the answer
 * comes from libzmq itself: a routed send with `ROUTER_MANDATORY` fails with EHOSTUNREACH
 * exactly when no connection has that id. The probe is one empty frame, which a Zinc DEALER
 * never reads (its receive queue, capped by its high-water mark, holds it; a full one answers
 * EAGAIN, which also means "connected").
 *
 * A session is what the routing id carries (`sessionOf`). Anything a peer sends marks it open;
 * a probe that finds it gone closes it. `isConnected` answers from what is known now and looks
 * again in the background, so an id held by a session whose disconnect was lost is freed for
 * the next HELLO.
 */
export class Connections {
  readonly #socket: RoutedSender
  /** session → routing id, for every connection believed open. */
  readonly #open = new Map<string, Uint8Array>()
  /** The connection of the last message, and the identity it was given. */
  #last: { routingId: Uint8Array; peer: PeerIdentity } | undefined
  /** Sessions with a probe queued or in flight. */
  readonly #probing = new Set<string>()
  // zeromq.js allows one send in flight per socket: probes go one after another.
  #tail: Promise<void> = Promise.resolve()
  #timers = new Set<ReturnType<typeof setTimeout>>()
  /** Open connections after the last full check; more than twice as many triggers another. */
  #checkedSize = 0

  constructor(socket: RoutedSender) {
    this.#socket = socket
  }

  /** A data message from `routingId`: the identity it carries. */
  identify(routingId: Uint8Array): PeerIdentity {
    // Messages come in runs from one connection: the last one's identity is usually this one's.
    const last = this.#last
    if (last !== undefined && Buffer.compare(last.routingId, routingId) === 0 && this.#open.has(last.peer.session)) return last.peer
    const session = sessionOf(routingId)
    if (!this.#open.has(session)) {
      this.#open.set(session, routingId)
      if (this.#open.size > 2 * this.#checkedSize + 64) this.#checkAll()
    }
    this.#last = { routingId, peer: { session } }
    return this.#last.peer
  }

  /** An empty message from `routingId`: a connect, a disconnect, a handover, or the peer's own. */
  notified(routingId: Uint8Array): void {
    const session = sessionOf(routingId)
    if (!this.#open.has(session)) this.#open.set(session, routingId)
    this.#probe(session)
    // libzmq may drop the pipe a moment after the disconnect message was read: look again.
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      this.#probe(session)
    }, RECHECK_MS)
    timer.unref?.()
    this.#timers.add(timer)
  }

  /** Whether `session` is believed connected now; looks again in the background if so. */
  isConnected(session: string): boolean {
    if (!this.#open.has(session)) return false
    this.#probe(session)
    return true
  }

  /** Connections believed open. */
  get size(): number {
    return this.#open.size
  }

  /** Stops pending re-checks (the socket is closing). */
  close(): void {
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
  }

  #checkAll(): void {
    this.#checkedSize = this.#open.size
    for (const session of this.#open.keys()) this.#probe(session)
  }

  #probe(session: string): void {
    if (this.#probing.has(session)) return
    this.#probing.add(session)
    this.#tail = this.#tail.then(async () => {
      this.#probing.delete(session)
      const routingId = this.#open.get(session)
      if (routingId === undefined || this.#socket.closed) return
      try {
        await this.#socket.send([routingId, new Uint8Array(0)])
      } catch (err) {
        // EHOSTUNREACH: no connection has this id. EAGAIN (its queue is full) means it has one.
        if ((err as { code?: unknown }).code === 'EHOSTUNREACH') this.#open.delete(session)
      }
    })
  }
}
