import type { Patch } from 'immer'
import { BadFrameError } from '../errors.js'
import { freezeDeep, type Op } from '../document/ot.js'
import { encodeJson } from './json.js'
import { freezeSafe, readOp } from './op-check.js'
import { decodePatches } from './patches.js'

const decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * A FRAGMENT's payload: `{"o": op}`, the change as one ot-json1 operation (see PROTOCOL.md,
 * Operations). A payload that is a JSON array is a fragment from before operations: immer
 * patches, still read so stored logs restore (they are turned into an op against the state
 * they apply to, see legacy.ts).
 */
export type FragmentBody = { op: Op; rejections: number; patches?: undefined } | { op?: undefined; rejections: number; patches: Patch[] }

/**
 * `rejections`: the highest clientSeq of the origin's changes to this document it had learned
 * was refused when it made this one (the root does not sequence a change made on top of a
 * refused one; see PROTOCOL.md, Operations).
 */
export function encodeOp(op: Op, rejections = 0): Uint8Array {
  return encodeJson(rejections > 0 ? { o: op, r: rejections } : { o: op })
}

/**
 * Decodes and checks a fragment payload; does not check that it applies. Throws BadFrameError.
 *
 * After the parse, one pass (op-check.ts) checks the values (at most 512 levels, no
 * `__proto__`/`constructor`/`prototype` key), Zinc's op rules (no such key in a path, only the
 * text-unicode embedded type) and json1's structure. With `freeze` (a reader's decode, see
 * shared-bodies.ts) the same pass freezes it: the body is deeply frozen and its op marked
 * checked, so it may be shared by every replica of a process and is not checked again when
 * applied; without, it stays writable (the root transforms what it receives, see op-check.ts).
 * Every decode makes every check: where a change enters the
 * tree and at every endpoint that receives it, since a reader cannot know who made its bytes.
 */
export function decodeFragmentBody(bytes: Uint8Array, { freeze = false }: { freeze?: boolean } = {}): FragmentBody {
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(bytes))
  } catch (error) {
    throw new BadFrameError(`fragment payload is not valid UTF-8 JSON (${(error as Error).message})`)
  }
  if (Array.isArray(value)) {
    const body = { patches: decodePatches(bytes), rejections: 0 }
    return freeze ? freezeDeep(body) : body
  }
  if (typeof value !== 'object' || value === null) throw new BadFrameError('fragment payload is neither {"o": op} nor a list of patches')
  const wrapper = value as Record<string, unknown>
  // Every key but the op's is checked as a value (the op is walked by readOp below).
  for (const key in wrapper) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') throw new BadFrameError(`fragment payload has a forbidden key ${JSON.stringify(key)}`)
    if (key !== 'o') freezeSafe(wrapper[key], 2, freeze)
  }
  const refused = wrapper.refused
  if (typeof refused === 'string') throw new BadFrameError(`refused where it entered the tree: ${refused}`)
  if (!('o' in wrapper)) throw new BadFrameError('fragment payload is neither {"o": op} nor a list of patches')
  const r = wrapper.r ?? 0
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 0) throw new BadFrameError('fragment payload has a bad refusal count')
  const body = { op: readOp(wrapper.o, 2, freeze), rejections: r }
  return freeze ? Object.freeze(body) : body
}
