import { describe, expect, it } from 'vitest'
import { Replica } from '../dist/document/replica.js'
import { newEndpointId, type DocId } from '../dist/ids.js'
import { MemoryStorage } from '../dist/memory-storage.js'
import { encodeMessage } from '../dist/protocol/codec.js'
import { Kind } from '../dist/protocol/kinds.js'
import { encodeOp } from '../dist/protocol/ops.js'
import type { StoredFragment } from '../dist/storage.js'
import { decode, drain, FakeIO } from './fake-replica-io.js'

const DOC = 'doc' as DocId

/** Storage whose appends wait until the test releases them. */
class GatedStorage extends MemoryStorage {
  readonly #gates: Array<() => void> = []
  override async append(doc: DocId, fragments: readonly StoredFragment[]): Promise<void> {
    await new Promise<void>((resolve) => this.#gates.push(resolve))
    return super.append(doc, fragments)
  }
  release(): void {
    for (const open of this.#gates.splice(0)) open()
  }
}

describe('a root that stops being the root while a batch is being written', () => {
  it('applies, publishes and acknowledges nothing of that batch: the replica follows its new history untouched', async () => {
    const storage = new GatedStorage()
    const io = new FakeIO(newEndpointId(), true, storage)
    const replica = new Replica(DOC, io, 100, 1 << 20)
    replica.seed({ n: 0 })
    replica.becomeSequencer()
    const client = newEndpointId()
    const op = ['n', { r: true, i: 1 }]
    replica.sequencer!.accept(decode(encodeMessage({ kind: Kind.FRAGMENT, origin: client, doc: DOC, clientSeq: 1, epoch: 1, payload: encodeOp(op) })))
    io.tick() // the batch is prepared and its append started
    // It re-joins the tree that went on without it (Node.welcomed drops the sequencer).
    replica.sequencer = undefined
    io.root = false
    storage.release()
    await drain()
    await drain()
    expect(replica.seq).toBe(0)
    expect(replica.confirmed).toEqual({ n: 0 })
    expect(replica.log.length).toBe(0)
    expect(io.takePublished()).toEqual([])
    expect(io.takeSent().filter(({ m }) => m.kind === Kind.ACK)).toEqual([])
  })
})
