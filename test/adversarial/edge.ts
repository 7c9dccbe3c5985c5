/**
 * The adversarial suite's fixture: what the canvas demo runs — a root on ZeroMQ tcp and an edge
 * relay facing WebSocket — with honest WebSocket clients, and raw peers that speak the wire
 * format directly (envelopes of their own making, any id, any session) as an attacker would.
 */
import {
  decodeMessage,
  encodeMessage,
  Endpoint,
  HelloCodec,
  Kind,
  newEndpointId,
  OpenCodec,
  RefusalCodec,
  type DocId,
  type Document,
  type EndpointId,
  type EndpointOptions,
  type Message,
  type MessageInit,
} from '@zinc/core'
import { WsClientTransport, WsServerTransport, type WsServerTransportOptions } from '@zinc/transport-ws'
import { ZmqTransport } from '@zinc/transport-zmq'
import { WebSocket } from 'ws'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterEach, beforeEach, expect } from 'vitest'
import { waitFor } from '../helpers.js'

/** Full sizes with ZINC_STRESS=1; the default run scales the heavy probes down. */
export const STRESS = process.env.ZINC_STRESS === '1'

/** Liveness for tcp and WebSocket tests under CPU load. */
export const TIMING = { heartbeatMs: 100, peerTimeoutMs: 3_000, resendMs: 500, joinTimeoutMs: 15_000 } as const

export interface Edge {
  root: Endpoint
  relay: Endpoint
  ws: WsServerTransport
  /** The WebSocket addresses browsers join. */
  addresses: { inbound: string; outbound: string }
  /** An honest WebSocket client (a Node stand-in for a browser tab). */
  client(options?: Partial<EndpointOptions>): Promise<Endpoint>
  close(): Promise<void>
}

export interface EdgeOptions {
  root?: Partial<EndpointOptions>
  relay?: Partial<EndpointOptions>
  ws?: WsServerTransportOptions
}

/** A root on ZeroMQ and an edge relay on WebSocket, as in the canvas demo. */
export async function startEdge(options: EdgeOptions = {}): Promise<Edge> {
  const zmq = new ZmqTransport()
  const ws = new WsServerTransport({ maxMessageBytes: 4 * 1024 * 1024, ...options.ws })
  const clients: Endpoint[] = []
  const transports: WsClientTransport[] = []
  const root = await Endpoint.start({ ...TIMING, ...options.root, transport: zmq, bind: { inbound: 'tcp://127.0.0.1:*', outbound: 'tcp://127.0.0.1:*' } })
  const relay = await Endpoint.start({
    ...TIMING,
    maxMessageBytes: 4 * 1024 * 1024,
    ...options.relay,
    transport: ws,
    joinTransport: zmq,
    join: root.addresses!,
    bind: { inbound: 'ws://127.0.0.1:*/in', outbound: 'ws://127.0.0.1:*/out' },
  })
  const addresses = relay.addresses!
  return {
    root,
    relay,
    ws,
    addresses,
    async client(extra = {}) {
      const transport = new WsClientTransport({ WebSocket: WebSocket as never })
      transports.push(transport)
      const client = await Endpoint.start({ ...TIMING, ...extra, transport, join: addresses })
      clients.push(client)
      return client
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.close()))
      await Promise.allSettled(transports.map((t) => t.close()))
      await relay.close()
      await root.close()
      await Promise.allSettled([ws.close(), zmq.close()])
    },
  }
}

/** A message a raw peer received, with its topic. */
export interface Received {
  topic: string
  message: Message
}

/**
 * A hostile peer speaking the WebSocket wire format directly: a PUSH and a SUB connection that
 * share `session` (a fresh one unless given), and envelopes of its own making.
 */
export class RawPeer {
  readonly received: Received[] = []
  /** Sequenced changes and heartbeats received (not kept). */
  fragments = 0
  /** Frames received on document topics (`d/…`): what the parent sends it of documents. */
  docFrames = 0
  readonly id: EndpointId
  private clientSeq = 0

  private constructor(
    readonly push: WebSocket,
    readonly sub: WebSocket,
    id: EndpointId,
  ) {
    this.id = id
    sub.on('message', (data: Buffer) => {
      const bytes = new Uint8Array(data)
      const length = (bytes[1]! << 8) | bytes[2]!
      const topic = Buffer.from(bytes.subarray(3, 3 + length)).toString()
      try {
        const message = decodeMessage(bytes.subarray(3 + length), Infinity)
        if (topic.startsWith('d/')) this.docFrames++
        // Sequenced changes and heartbeats are counted, not kept: a test's own memory stays out of its RSS bounds.
        if (message.kind === Kind.FRAGMENT || message.kind === Kind.FRAGMENTS || message.kind === Kind.HEARTBEAT) this.fragments++
        else this.received.push({ topic, message })
      } catch {
        // Not a Zinc message: ignore.
      }
    })
  }

  static async connect(addresses: { inbound: string; outbound: string }, options: { session?: string | null; id?: EndpointId; subscribe?: string[] } = {}): Promise<RawPeer> {
    const session = options.session === null ? '' : `?zs=${options.session ?? randomSession()}`
    const push = new WebSocket(addresses.inbound + session, 'zinc-push.v1')
    const sub = new WebSocket(addresses.outbound + session, 'zinc-sub.v1')
    await Promise.all([opened(push), opened(sub)])
    const peer = new RawPeer(push, sub, options.id ?? newEndpointId())
    for (const prefix of options.subscribe ?? ['']) peer.subscribe(prefix)
    return peer
  }

  subscribe(prefix: string): void {
    this.sub.send(Buffer.concat([Buffer.from([1]), Buffer.from(prefix)]))
  }

  /** Sends an envelope; `origin` and `sender` default to this peer's id. */
  send(init: Partial<MessageInit> & { kind: Kind }): void {
    const bytes = encodeMessage({ origin: this.id, epoch: 1, ...init })
    this.push.send(Buffer.concat([Buffer.from([0]), Buffer.from(bytes)]))
  }

  hello(token = '', id: EndpointId = this.id): void {
    this.send({ kind: Kind.HELLO, origin: id, sender: id, payload: HelloCodec.encode({ token, inbound: '', outbound: '', priority: 0, docs: [], ancestry: [] }) })
  }

  open(doc: string, initialJson?: string | Uint8Array): void {
    const initial = typeof initialJson === 'string' ? new TextEncoder().encode(initialJson) : initialJson
    this.send({ kind: Kind.OPEN, doc: doc as DocId, payload: OpenCodec.encode({ hasInitial: initial !== undefined, initial: initial ?? new Uint8Array(0), lastEpoch: 0 }) })
  }

  /** A FRAGMENT with raw patch JSON; the next clientSeq unless given. */
  change(doc: string, patchesJson: string | Uint8Array, init: Partial<MessageInit> = {}): number {
    const clientSeq = init.clientSeq ?? ++this.clientSeq
    const payload = typeof patchesJson === 'string' ? new TextEncoder().encode(patchesJson) : patchesJson
    this.send({ kind: Kind.FRAGMENT, doc: doc as DocId, clientSeq, payload, ...init })
    return clientSeq
  }

  /** Refusals and rejections it received: code (or REJECT) and reason. */
  refusals(): Array<{ kind: 'REFUSE' | 'REJECT'; doc: string; code: string; reason: string }> {
    return this.received
      .filter((r) => r.message.kind === Kind.REFUSE || r.message.kind === Kind.REJECT)
      .map((r) => {
        const refusal = RefusalCodec.decode(r.message.payload)
        return { kind: r.message.kind === Kind.REFUSE ? 'REFUSE' : 'REJECT', doc: r.message.doc, code: refusal.code, reason: refusal.reason }
      })
  }

  welcomed(): boolean {
    return this.received.some((r) => r.message.kind === Kind.WELCOME)
  }

  close(): void {
    this.push.terminate()
    this.sub.terminate()
  }
}

/** A well-formed session (what a client presents in `?zs=`). */
export function randomSession(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('hex')
}

function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)))
  })
}

/**
 * The promise every probe ends with: an honest client's change reaches another honest client
 * (waiting on the condition with a generous limit; timing is not asserted).
 */
export async function honestChangeArrives(a: Document<Record<string, unknown>>, b: Document<Record<string, unknown>>, label: string): Promise<void> {
  const key = `honest-${label}-${Math.random().toString(36).slice(2)}`
  const started = performance.now()
  a.change((d) => {
    d[key] = label
  })
  await waitFor(() => b.state[key] === label, `an honest change (${label}) to reach the other client`, 30_000)
  // Measured, not asserted (the issue asks for "within a second"; a loaded CI machine may not).
  const ms = performance.now() - started
  if (ms > 1000) console.log(`an honest change (${label}) took ${ms.toFixed(0)} ms to reach the other client`)
  await a.synced()
}

/**
 * The stated memory bound of a probe file: before each test RSS is read; after it, `cleanup`
 * runs and the test fails if RSS (measured before cleanup, after GC) grew by `boundMb` or more.
 */
export function boundEachTest(boundMb: number, cleanup: () => Promise<void>): void {
  let before = 0
  beforeEach(() => {
    before = rssMb()
  })
  afterEach(async () => {
    const grown = rssMb() - before
    // Measured before cleanup, asserted after it (a failure must not leak the edge).
    await cleanup()
    expect(grown, `RSS grew by ${grown.toFixed(0)} MB`).toBeLessThan(boundMb)
  })
}

/**
 * Resident set size in MB, after two full garbage collections: without them RSS mostly
 * measures garbage not yet collected (1 MB strings wait for a major GC), not what is held.
 */
export function rssMb(): number {
  gc()
  gc()
  return process.memoryUsage().rss / 1024 / 1024
}

// The test process was not started with --expose-gc; this turns it on and fetches `gc`.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
