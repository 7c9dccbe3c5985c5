/**
 * A hostile process on ZeroMQ: a raw DEALER to an endpoint's inbound (a ROUTER, which tells
 * connections apart) and a SUB on its outbound, sending envelopes of its own making under any
 * id it likes.
 */
import { decodeMessage, encodeMessage, HelloCodec, Kind, newEndpointId, OpenCodec, RefusalCodec, type DocId, type EndpointId, type MessageInit } from '@zinc/core'
import { Subscriber } from 'zeromq'
import { RawPush } from '../zmq-helpers.js'

/** A hostile process: a raw DEALER to the root's inbound and a SUB on its outbound. */
export class ZmqRaw {
  readonly refusals: Array<{ kind: number; doc: string; code: string; reason: string }> = []
  readonly id: EndpointId
  readonly push: RawPush
  readonly sub = new Subscriber({ linger: 0 })
  private seq = 0

  /** `id`: the id it says HELLO as (a fresh one by default); `routingId`: the one its DEALER presents. */
  constructor(
    readonly addresses: { inbound: string; outbound: string },
    options: { id?: EndpointId; routingId?: string } = {},
  ) {
    this.id = options.id ?? newEndpointId()
    this.push = new RawPush(options.routingId === undefined ? {} : { routingId: options.routingId })
    this.push.connect(addresses.inbound)
    this.sub.connect(addresses.outbound)
    this.sub.subscribe(`e/${this.id}`)
    void this.read()
  }

  private async read(): Promise<void> {
    try {
      for await (const [, body] of this.sub) {
        const m = decodeMessage(body!, Infinity)
        if (m.kind === Kind.REFUSE || m.kind === Kind.REJECT) this.refusals.push({ kind: m.kind, doc: m.doc, ...RefusalCodec.decode(m.payload) })
        if (m.kind === Kind.WELCOME) this.welcomed = true
      }
    } catch {
      // Closed.
    }
  }

  welcomed = false

  async send(init: Partial<MessageInit> & { kind: Kind }): Promise<void> {
    await this.push.send(encodeMessage({ origin: this.id, epoch: 1, ...init }))
  }

  /** A leaf's HELLO payload (addresses given: a relay's). */
  helloPayload(addresses?: { inbound: string; outbound: string }): Uint8Array {
    return HelloCodec.encode({ token: '', inbound: addresses?.inbound ?? '', outbound: addresses?.outbound ?? '', priority: 0, docs: [], ancestry: [] })
  }

  /** Says HELLO (as a leaf) until welcomed; the SUB may not have reached the root at first. */
  async join(): Promise<void> {
    const deadline = Date.now() + 15_000
    while (!this.welcomed) {
      if (Date.now() > deadline) throw new Error('the raw process was not welcomed within 15 s')
      await this.hello()
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  async hello(addresses?: { inbound: string; outbound: string }): Promise<void> {
    await this.send({ kind: Kind.HELLO, payload: this.helloPayload(addresses) })
  }

  async open(doc: string, initial?: string, origin?: EndpointId): Promise<void> {
    const bytes = initial === undefined ? new Uint8Array(0) : new TextEncoder().encode(initial)
    const payload = OpenCodec.encode({ hasInitial: initial !== undefined, initial: bytes, lastEpoch: 0 })
    await this.send({ kind: Kind.OPEN, doc: doc as DocId, payload, ...(origin ? { origin } : {}) })
  }

  async change(doc: string, json: string, init: Partial<MessageInit> = {}): Promise<void> {
    await this.send({ kind: Kind.FRAGMENT, doc: doc as DocId, clientSeq: ++this.seq, payload: new TextEncoder().encode(json), ...init })
  }

  close(): void {
    this.push.close()
    this.sub.close()
  }
}
