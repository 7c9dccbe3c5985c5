/**
 * The internal seams between the network core, links and channels. Type-only, so channels and
 * the core can refer to each other without a runtime import cycle.
 */
import type { Frames } from '@zinc/core'
import type { FaultDecision } from './faults.js'
import type { Link } from './link.js'
import type { InprocStats } from './stats.js'

/** Channel options with defaults applied. */
export interface ResolvedOptions {
  /** Messages per connection on this side; `Infinity` when the caller asked for 0 (ZeroMQ: no limit). */
  highWaterMark: number
  /** Largest inbound message in bytes; `Infinity` = no limit (ZeroMQ's default). */
  maxMessageBytes: number
}

/** What links and channels need from the network. */
export interface NetworkCoreApi {
  readonly counters: InprocStats
  /** The fault decision for the next message on link `key`. */
  decide(key: string, from: string, to: string): FaultDecision
  /** True while messages between the two nodes vanish (partition, killed node). */
  severed(from: string, to: string): boolean
  /** Binds or throws `AddressInUseError`; then attaches connectors waiting for that address. */
  bind(channel: BoundChannel): void
  /** Releases the address if `channel` still holds it. */
  unbind(channel: BoundChannel): void
  /** Attaches a connector to the bound channel at its address, or throws. */
  connect(connector: Connector): void
  /** Keeps a detached connector until something binds its address again (ZeroMQ reconnects). */
  park(connector: Connector): void
  unpark(connector: Connector): void
}

/** Everything a channel knows about where it lives. */
export interface ChannelHost {
  readonly core: NetworkCoreApi
  /** The node (simulated machine) that owns the channel. */
  readonly node: string
  /** A network-wide serial number, stable for a given sequence of operations. */
  readonly id: number
  /** Called once when the channel closes, so its owners stop tracking it. */
  released(): void
}

/** Something the network can kill. */
export interface NodeChannel {
  readonly host: ChannelHost
  /** The node died: stop delivering and receiving, silently, forever. */
  kill(): void
  close(): Promise<void>
}

/** A bound channel (PULL, PUB) that connectors attach to. */
export interface BoundChannel extends NodeChannel {
  readonly kind: 'pull' | 'pub'
  readonly address: string
  readonly options: ResolvedOptions
  /** Creates the link to a connector and hands it over. */
  accept(connector: Connector): void
  /** The connector leaves: the link is dropped with what it still holds. */
  release(link: Link): void
}

/** A connecting channel (PUSH, SUB). */
export interface Connector extends NodeChannel {
  readonly kind: 'push' | 'sub'
  readonly address: string
  readonly options: ResolvedOptions
  readonly closed: boolean
  readonly dead: boolean
  /** The link to `peer` is up. */
  attach(link: Link, peer: BoundChannel): void
  /** The peer went away; the link is already closed. */
  detached(): void
  /** Room opened up on the link (a PUSH moves waiting sends onto it). */
  drain(): void
}

/** Receives messages from links. */
export interface LinkReceiver {
  /** New messages are ready on one of its links. */
  notify(): void
}

export type { Frames }
