import type { ReplicaIO } from '../dist/document/replica-io.js'
import { Replica } from '../dist/document/replica.js'
import { newEndpointId, type DocId, type EndpointId } from '../dist/ids.js'
import { silentLogger } from '../dist/logger.js'
import { decodeMessage, type Message } from '../dist/protocol/codec.js'
import { Kind } from '../dist/protocol/kinds.js'
import { RefusalCodec } from '../dist/protocol/payloads.js'
import { emptyStats } from '../dist/runtime/stats.js'
import type { Storage } from '../dist/storage.js'

/** Decodes an envelope without a size limit. */
export const decode = (bytes: Uint8Array): Message => decodeMessage(bytes, Infinity)

/** Hands what a root answers or publishes (FRAGMENT, REJECT, ACK) to a client replica, as its endpoint would. */
export function deliver(r: Replica, m: Message): void {
  if (m.kind === Kind.FRAGMENT) r.receiveSequenced(m)
  else if (m.kind === Kind.REJECT) {
    const f = RefusalCodec.decode(m.payload)
    r.rejected(m.clientSeq, f.reason, f.code, m.seq, m.baseSeq, f.answered ? f.answered - 1 : undefined)
  } else if (m.kind === Kind.ACK) r.acknowledged(m.clientSeq, m.seq)
}

/** Lets every queued microtask (event dispatch) run. */
export const drain = () => new Promise<void>((r) => setImmediate(r))

/** A ReplicaIO that records everything; deferred work runs only when the test says so. */
export class FakeIO implements ReplicaIO {
  readonly logger = silentLogger
  readonly stats = emptyStats()
  readonly up: Message[] = []
  readonly published: Message[][] = []
  readonly sent: Array<{ to: EndpointId; m: Message }> = []
  readonly deferred: Array<() => void> = []
  maybeSnapshot() {}
  constructor(
    readonly self: EndpointId,
    public root: boolean,
    readonly storage: Storage | undefined = undefined,
  ) {}
  /** The epoch stamped on what it sequences (a test may raise it: a new term). */
  epochValue = 1
  /** Whether this root may acknowledge now (a coordinated root's lease; a test may close it). */
  confirmable = true
  epoch() {
    return this.epochValue
  }
  /** The clock the replica reads (ms); a test may set it to replay timers. Real time until set. */
  clock: number | undefined = undefined
  now() {
    return this.clock ?? Date.now()
  }
  mayConfirm() {
    return this.confirmable
  }
  isRoot() {
    return this.root
  }
  sendUp(bytes: Uint8Array) {
    this.up.push(decode(bytes))
  }
  publishFragments(_doc: DocId, envelopes: Uint8Array[]) {
    this.published.push(envelopes.map(decode))
  }
  publishOnDoc() {}
  sendTo(to: EndpointId, bytes: Uint8Array) {
    this.sent.push({ to, m: decode(bytes) })
  }
  defer(fn: () => void) {
    this.deferred.push(fn)
  }
  /** Runs deferred work (and whatever it defers in turn) until none is left; returns how many ran. */
  tick(): number {
    let n = 0
    while (this.deferred.length > 0) {
      this.deferred.shift()!()
      n++
    }
    return n
  }
  takeUp(): Message[] {
    return this.up.splice(0)
  }
  takePublished(): Message[] {
    return this.published.splice(0).flat()
  }
  takeSent(): Array<{ to: EndpointId; m: Message }> {
    return this.sent.splice(0)
  }
}

/** A root sequencing `doc`, seeded with `initial`, over a FakeIO (with `storage` if given). */
export function seededRoot(doc: DocId, initial: unknown, storage?: Storage): { io: FakeIO; root: Replica } {
  const io = new FakeIO(newEndpointId(), true, storage)
  const root = new Replica(doc, io, 100, 1 << 20)
  root.seed(initial)
  root.becomeSequencer()
  return { io, root }
}
