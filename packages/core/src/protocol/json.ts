import { BadFrameError } from '../errors.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** Document values travel as UTF-8 JSON inside protobuf bytes fields. */
export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value))
}

export function decodeJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(decoder.decode(bytes))
  } catch (error) {
    throw new BadFrameError(`${what} is not valid UTF-8 JSON (${(error as Error).message})`)
  }
}
