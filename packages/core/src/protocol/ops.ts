import type { Patch } from 'immer'
import { BadFrameError } from '../errors.js'
import { checkOp, type Op } from '../document/ot.js'
import { decodeJson, encodeJson } from './json.js'
import { assertSafeValue, decodePatches } from './patches.js'

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

// Keys that would let an op reach Object.prototype through a plain-object state.
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

/** Decodes and checks a fragment payload; does not check that it applies. Throws BadFrameError. */
export function decodeFragmentBody(bytes: Uint8Array): FragmentBody {
  const value = decodeJson(bytes, 'fragment payload')
  if (Array.isArray(value)) return { patches: decodePatches(bytes), rejections: 0 }
  const refused = (value as { refused?: unknown } | null)?.refused
  if (typeof refused === 'string') throw new BadFrameError(`refused where it entered the tree: ${refused}`)
  if (typeof value !== 'object' || value === null || !('o' in value)) throw new BadFrameError('fragment payload is neither {"o": op} nor a list of patches')
  const op = (value as { o: unknown }).o as Op
  const r = (value as { r?: unknown }).r ?? 0
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 0) throw new BadFrameError('fragment payload has a bad refusal count')
  assertOpShape(op, 0)
  try {
    checkOp(op)
  } catch (error) {
    throw new BadFrameError(`fragment op is not a valid ot-json1 operation (${(error as Error).message})`)
  }
  return { op, rejections: r }
}

const MAX_DEPTH = 512

/** Refuses forbidden keys anywhere in an op's paths and `__proto__` in any inserted value. */
function assertOpShape(op: unknown, depth: number): void {
  if (op === null) return
  if (depth > MAX_DEPTH) throw new BadFrameError(`an op nests deeper than ${MAX_DEPTH} levels`)
  if (!Array.isArray(op)) throw new BadFrameError('fragment op is not a list')
  for (const item of op) {
    if (typeof item === 'string') {
      if (FORBIDDEN_KEYS.has(item)) throw new BadFrameError(`an op path has a forbidden key ${JSON.stringify(item)}`)
    } else if (typeof item === 'number') {
      if (!Number.isInteger(item) || item < 0) throw new BadFrameError(`an op path has a bad index ${item}`)
    } else if (Array.isArray(item)) {
      assertOpShape(item, depth + 1)
    } else if (typeof item === 'object' && item !== null) {
      for (const [k, v] of Object.entries(item)) {
        if (k === '__proto__') throw new BadFrameError('an op component has a forbidden key "__proto__"')
        if (k === 'et' && v !== 'text-unicode') throw new BadFrameError(`an op uses an unknown embedded type ${JSON.stringify(v)}`)
        assertSafeValue(v, depth + 1)
      }
    } else {
      throw new BadFrameError(`an op has an element of type ${item === null ? 'null' : typeof item}`)
    }
  }
}
