import { BadFrameError } from '../errors.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * How deep a value may nest. Deeper values are refused before they are parsed: V8 parses
 * 100,000 levels happily, but every recursive step after it (stringify, immer's clone, a
 * snapshot) overflows the stack, which once made a document unopenable until a restart.
 */
export const MAX_VALUE_DEPTH = 512

/**
 * Keys a value may not carry. JSON.parse makes `"__proto__"` an own key; immer's deep clone of
 * a patch value would then assign it and swap the clone's prototype, and `constructor` /
 * `prototype` are the other two steps of a prototype-pollution path.
 */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])

/** Document values travel as UTF-8 JSON inside protobuf bytes fields. */
export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value))
}

/**
 * Decodes and checks a JSON value from the wire: valid UTF-8 JSON, nested at most
 * {@link MAX_VALUE_DEPTH} levels (checked on the bytes, without recursion, before parsing), and
 * without a forbidden key anywhere. Throws `BadFrameError` naming `what` and the problem.
 */
export function decodeJson(bytes: Uint8Array, what: string): unknown {
  const depth = nestingDepth(bytes, MAX_VALUE_DEPTH)
  if (depth > MAX_VALUE_DEPTH) throw new BadFrameError(`${what} nests deeper than ${MAX_VALUE_DEPTH} levels`)
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(bytes))
  } catch (error) {
    throw new BadFrameError(`${what} is not valid UTF-8 JSON (${(error as Error).message})`)
  }
  const key = forbiddenKey(value, 0)
  if (key !== undefined) throw new BadFrameError(`${what} has a forbidden key ${JSON.stringify(key)}`)
  return value
}

/**
 * Checks a value that did not come through {@link decodeJson} (an application's `initial`):
 * the same depth and key rules. Throws `BadFrameError`.
 */
export function assertSafeValue(value: unknown, what = 'a value'): void {
  const key = forbiddenKey(value, 0)
  if (key !== undefined) throw new BadFrameError(`${what} has a forbidden key ${JSON.stringify(key)}`)
}

/**
 * The deepest `[`/`{` nesting of JSON text, scanning bytes outside strings; stops counting
 * once past `limit`. Linear, no recursion, no allocation.
 */
export function nestingDepth(bytes: Uint8Array, limit = Infinity): number {
  let depth = 0
  let max = 0
  let inString = false
  for (let i = 0; i < bytes.byteLength; i++) {
    const b = bytes[i]!
    if (inString) {
      if (b === 0x5c) i++ // a backslash escapes the next byte (multi-byte escapes are plain bytes after it)
      else if (b === 0x22) inString = false
      continue
    }
    if (b === 0x22) inString = true
    else if (b === 0x5b || b === 0x7b) {
      if (++depth > max) {
        max = depth
        if (max > limit) return max
      }
    } else if (b === 0x5d || b === 0x7d) depth--
  }
  return max
}

/** The first forbidden key in `value`, if any. Recursion is bounded by the depth check. */
function forbiddenKey(value: unknown, depth: number): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  if (depth > MAX_VALUE_DEPTH) return `(nesting deeper than ${MAX_VALUE_DEPTH} levels)`
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = forbiddenKey(item, depth + 1)
      if (found !== undefined) return found
    }
    return undefined
  }
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) return key
    const found = forbiddenKey((value as Record<string, unknown>)[key], depth + 1)
    if (found !== undefined) return found
  }
  return undefined
}
