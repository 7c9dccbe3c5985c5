import type { Patch } from 'immer'
import { BadFrameError } from '../errors.js'
import { assertSafeValue as assertSafeJson, decodeJson, encodeJson, FORBIDDEN_KEYS } from './json.js'

/** A fragment's payload: the immer patches of one change, as JSON. */
export function encodePatches(patches: readonly Patch[]): Uint8Array {
  return encodeJson(patches)
}

const OPS = new Set(['add', 'replace', 'remove'])

/**
 * The payload a relay puts in place of a change it refused where it entered (see PROTOCOL.md,
 * "Refusals"): the root cannot apply it, so it rejects that clientSeq with `reason` and the
 * origin's later changes are not held behind a gap.
 */
export function refusedPayload(reason: string): Uint8Array {
  return encodeJson({ refused: reason })
}

/** Decodes and checks the shape of every patch; does not check that paths resolve. */
export function decodePatches(bytes: Uint8Array): Patch[] {
  const value = decodeJson(bytes, 'fragment payload')
  if (!Array.isArray(value)) {
    const refused = (value as { refused?: unknown } | null)?.refused
    if (typeof refused === 'string') throw new BadFrameError(`refused where it entered the tree: ${refused}`)
    throw new BadFrameError('fragment payload is not a list of patches')
  }
  for (const patch of value) assertPatch(patch)
  return value as Patch[]
}

function assertPatch(patch: unknown): void {
  if (typeof patch !== 'object' || patch === null) throw new BadFrameError('a patch is not an object')
  const p = patch as Record<string, unknown>
  if (typeof p.op !== 'string' || !OPS.has(p.op)) throw new BadFrameError(`a patch has an unknown op ${JSON.stringify(p.op)}`)
  if (!Array.isArray(p.path)) throw new BadFrameError('a patch has no path')
  for (const key of p.path) {
    if (typeof key === 'number') {
      if (!Number.isInteger(key) || key < 0) throw new BadFrameError(`a patch path has a bad index ${key}`)
    } else if (typeof key !== 'string' || FORBIDDEN_KEYS.has(key)) {
      throw new BadFrameError(`a patch path has a forbidden key ${JSON.stringify(key)}`)
    }
  }
  if (p.op !== 'remove' && !('value' in p)) throw new BadFrameError(`an ${p.op} patch has no value`)
}

/**
 * Checks a value that did not come through `decodeJson` (depth and forbidden keys); values
 * decoded from the wire were checked there already. `depth` is kept for older callers.
 */
export function assertSafeValue(value: unknown, _depth = 0): void {
  assertSafeJson(value)
}
