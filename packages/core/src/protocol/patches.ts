import type { Patch } from 'immer'
import { BadFrameError } from '../errors.js'
import { decodeJson, encodeJson } from './json.js'

/** A fragment's payload: the immer patches of one change, as JSON. */
export function encodePatches(patches: readonly Patch[]): Uint8Array {
  return encodeJson(patches)
}

const OPS = new Set(['add', 'replace', 'remove'])
// Keys that would let a patch reach Object.prototype through a plain-object state.
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

/** Decodes and checks the shape of every patch; does not check that paths resolve. */
export function decodePatches(bytes: Uint8Array): Patch[] {
  const value = decodeJson(bytes, 'fragment payload')
  if (!Array.isArray(value)) throw new BadFrameError('fragment payload is not a list of patches')
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
  if (p.op !== 'remove') assertSafeValue(p.value, 0)
}

const MAX_DEPTH = 512

/**
 * JSON.parse makes `"__proto__"` an own key; immer's deep clone of a patch value would then
 * assign it and swap the clone's prototype. Such values are refused outright.
 */
export function assertSafeValue(value: unknown, depth: number): void {
  if (typeof value !== 'object' || value === null) return
  if (depth > MAX_DEPTH) throw new BadFrameError(`a value nests deeper than ${MAX_DEPTH} levels`)
  if (Array.isArray(value)) {
    for (const item of value) assertSafeValue(item, depth + 1)
    return
  }
  for (const key of Object.keys(value)) {
    if (key === '__proto__') throw new BadFrameError('a value has a forbidden key "__proto__"')
    assertSafeValue((value as Record<string, unknown>)[key], depth + 1)
  }
}
