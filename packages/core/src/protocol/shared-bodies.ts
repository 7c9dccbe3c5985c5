import { freezeDeep } from '../document/ot.js'
import { markChecked } from '../document/draft-apply.js'
import { decodeFragmentBody, type FragmentBody } from './ops.js'

/**
 * Sequenced fragment bodies decoded once per process, however many endpoints see them.
 *
 * Every endpoint of a process (8 readers in one, a relay and its leaves in-process) receives
 * the same sequenced fragment and would parse and check its JSON again. The first decode is
 * kept here, deeply frozen (replicas share it: nothing may write to an op), under the
 * fragment's place in the sequence, and handed to the next replica only if its payload is the
 * very same bytes: a different fragment under the same key (another tree in this process, a
 * forged one) is decoded on its own and never served from here. Bounded: the oldest go first.
 */
const LIMIT = 1024
const bodies = new Map<string, { payload: Uint8Array; body: FragmentBody }>()

export function sharedFragmentBody(doc: string, epoch: number, seq: number, payload: Uint8Array): FragmentBody {
  const key = `${seq}\u0000${epoch}\u0000${doc}`
  const hit = bodies.get(key)
  if (hit !== undefined && sameBytes(hit.payload, payload)) return hit.body
  const body = freezeDeep(decodeFragmentBody(payload))
  // decodeFragmentBody checked the op (checkOp); frozen, it stays valid: applying skips the check.
  if (body.op !== undefined) markChecked(body.op)
  if (bodies.size >= LIMIT) bodies.delete(bodies.keys().next().value!)
  // A copy: the payload may be a view into a large received batch, which must not stay alive.
  bodies.set(key, { payload: payload.slice(), body })
  return body
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}
