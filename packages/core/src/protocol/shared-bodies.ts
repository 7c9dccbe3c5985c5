import { decodeFragmentBody, type FragmentBody } from './ops.js'

/**
 * Sequenced fragment bodies decoded once per process, however many endpoints see them.
 *
 * Every endpoint of a process (8 readers in one, a relay and its leaves in-process) receives
 * the same sequenced fragment and would parse and check its JSON again. The first decode is
 * kept here (decodeFragmentBody's body is deeply frozen: replicas share it, nothing may write
 * to an op), under the fragment's place in the sequence, and handed to the next replica only if
 * its payload is the very same bytes: a different fragment under the same place (another tree
 * in this process, a forged one) is decoded on its own and never served from here.
 *
 * Cheap when nobody else reads (a process with one replica per document pays for the keeping
 * on every fragment): a slot per seq in a small table per document (no string key, no Map
 * churn), and the bytes copied into one ring of memory instead of a new buffer each (the
 * payload may be a view into a large received batch, which must not stay alive). A slot whose
 * bytes the ring has written over since is a miss. Bounded: {@link SLOTS} per document, the
 * {@link MAX_DOCS} documents seen last, {@link RING} bytes.
 */
const SLOTS = 256
const MAX_DOCS = 64
const RING = 1 << 18
/** Larger payloads are decoded by each replica (rare; they would flush the ring). */
const MAX_BYTES = RING >> 4

interface Kept {
  seq: number
  epoch: number
  /** Where its bytes start, counted in bytes written to the ring since the process started. */
  at: number
  length: number
  body: FragmentBody
}

const docs = new Map<string, Array<Kept | undefined>>()
let ring: Uint8Array | undefined
let written = 0

export function sharedFragmentBody(doc: string, epoch: number, seq: number, payload: Uint8Array): FragmentBody {
  let slots = docs.get(doc)
  const slot = seq & (SLOTS - 1)
  const kept = slots?.[slot]
  if (kept !== undefined && kept.seq === seq && kept.epoch === epoch && sameBytes(kept, payload)) return kept.body
  const body = decodeFragmentBody(payload, { freeze: true })
  const length = payload.byteLength
  if (length > MAX_BYTES) return body
  if (slots === undefined) {
    if (docs.size >= MAX_DOCS) docs.delete(docs.keys().next().value!)
    slots = new Array<Kept | undefined>(SLOTS)
    docs.set(doc, slots)
  }
  ring ??= new Uint8Array(RING)
  let pos = written % RING
  // A payload never wraps around the ring's end: it starts over at 0.
  if (pos + length > RING) {
    written += RING - pos
    pos = 0
  }
  ring.set(payload, pos)
  slots[slot] = { seq, epoch, at: written, length, body }
  written += length
  return body
}

/** Whether the ring still holds `kept`'s bytes (nothing was written over them) and they are `payload`. */
function sameBytes(kept: Kept, payload: Uint8Array): boolean {
  if (kept.length !== payload.byteLength || written - kept.at > RING) return false
  const bytes = ring!
  const start = kept.at % RING
  for (let i = 0; i < kept.length; i++) if (bytes[start + i] !== payload[i]) return false
  return true
}
