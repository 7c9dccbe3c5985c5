import { endpointIdFromBytes, type DocId, type EndpointId } from '../ids.js'
import type { TypedEmitter } from '../events.js'
import { encodeMessage } from '../protocol/codec.js'
import { Kind } from '../protocol/kinds.js'
import { decodeJson, encodeJson } from '../protocol/json.js'
import type { Snapshot } from '../protocol/payloads.js'
import type { ReplicaIO } from './replica-io.js'
import type { ReplicaEvents } from './replica.js'

/**
 * The presence values of one document's endpoints (pointers, selections, names), as this
 * replica knows them. Not part of the document's history: a snapshot replaces them, and
 * listeners hear them at most once per tick.
 */
export class PresenceTable {
  readonly values = new Map<EndpointId, unknown>()
  #queued = false

  constructor(
    private readonly doc: DocId,
    private readonly io: ReplicaIO,
    private readonly events: TypedEmitter<ReplicaEvents>,
  ) {}

  set(origin: EndpointId, value: unknown): void {
    if (value === undefined || value === null) {
      if (!this.values.delete(origin)) return
    } else {
      this.values.set(origin, value)
    }
    this.#changed()
  }

  /**
   * Listeners hear presence once per tick, however many values changed in it: with a thousand
   * people moving, a page renders once per batch of moves, not once per move.
   */
  #changed(): void {
    if (this.#queued) return
    this.#queued = true
    this.io.defer(() => {
      this.#queued = false
      this.events.emit('presence', this.values)
    })
  }

  /** Takes a snapshot's presence values, keeping our own (see #keepOwn). Listeners are told by the caller. */
  replace(entries: Snapshot['presence']): void {
    const own = this.values.get(this.io.self)
    this.values.clear()
    for (const { origin, value } of entries) this.values.set(endpointIdFromBytes(origin), decodeJson(value, 'presence'))
    if (own !== undefined) this.#keepOwn(own)
  }

  /**
   * Our own presence outlives a snapshot. One that lacks it, or holds an older value, comes
   * from a parent that dropped us (silent too long, or a failover) and cleared our value when
   * we left: we send it again, or a person whose pointer stays still is gone for everyone
   * until it moves.
   */
  #keepOwn(own: unknown): void {
    const self = this.io.self
    const theirs = this.values.get(self)
    this.values.set(self, own)
    if (this.io.isRoot() || (theirs !== undefined && JSON.stringify(theirs) === JSON.stringify(own))) return
    this.io.sendUp(this.message(self, own))
  }

  message(origin: EndpointId, value: unknown): Uint8Array {
    const payload = value === undefined || value === null ? new Uint8Array(0) : encodeJson(value)
    return encodeMessage({ kind: Kind.PRESENCE, origin, sender: this.io.self, doc: this.doc, epoch: this.io.epoch(), payload })
  }
}
