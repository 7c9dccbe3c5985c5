import { BadFrameError } from '../errors.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * How deep a value may nest. V8 parses 100,000 levels happily, but every recursive step after
 * it (stringify, a clone, a snapshot) overflows the stack, which once made a document
 * unopenable until a restart: deeper values are refused right after parsing.
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
 * {@link MAX_VALUE_DEPTH} levels, and without a forbidden key anywhere. V8's JSON.parse is not
 * recursive, so a deep value parses safely; the check then walks it with an explicit stack, so
 * 100,000 levels cost a walk, not a stack overflow. Throws `BadFrameError` naming `what`.
 */
export function decodeJson(bytes: Uint8Array, what: string): unknown {
  return decode(bytes, what, false)
}

/**
 * {@link decodeJson}, with every object and array of the value frozen in the same walk that
 * checks it: a joiner's 50 MB snapshot state was walked twice (the check, then freezeDeep).
 */
export function decodeJsonFrozen(bytes: Uint8Array, what: string): unknown {
  return decode(bytes, what, true)
}

function decode(bytes: Uint8Array, what: string, freeze: boolean): unknown {
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(bytes))
  } catch (error) {
    throw new BadFrameError(`${what} is not valid UTF-8 JSON (${(error as Error).message})`)
  }
  const problem = unsafe(value, freeze)
  if (problem !== undefined) throw new BadFrameError(`${what} ${problem}`)
  return value
}

/**
 * Checks a value that did not come through {@link decodeJson} (an application's `initial`):
 * the same depth and key rules. Throws `BadFrameError`.
 */
export function assertSafeValue(value: unknown, what = 'a value'): void {
  const problem = unsafe(value)
  if (problem !== undefined) throw new BadFrameError(`${what} ${problem}`)
}

/**
 * What is wrong with `value` ("nests deeper than …", "has a forbidden key …"), or undefined.
 * Iterative (an explicit stack of containers and their depths), one pass over every container;
 * with `freeze`, each container is frozen as it is visited (see decodeJsonFrozen).
 */
function unsafe(value: unknown, freeze = false): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const stack: object[] = [value]
  const depths: number[] = [1]
  while (stack.length > 0) {
    const container = stack.pop()!
    const depth = depths.pop()!
    if (depth > MAX_VALUE_DEPTH) return `nests deeper than ${MAX_VALUE_DEPTH} levels`
    if (freeze) Object.freeze(container)
    if (Array.isArray(container)) {
      for (let i = 0; i < container.length; i++) {
        const item: unknown = container[i]
        if (typeof item === 'object' && item !== null) {
          stack.push(item)
          depths.push(depth + 1)
        }
      }
      continue
    }
    for (const key in container) {
      if (key === '__proto__' || key === 'constructor' || key === 'prototype') return `has a forbidden key ${JSON.stringify(key)}`
      const item: unknown = (container as Record<string, unknown>)[key]
      if (typeof item === 'object' && item !== null) {
        stack.push(item)
        depths.push(depth + 1)
      }
    }
  }
  return undefined
}
