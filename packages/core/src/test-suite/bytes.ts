/** Small helpers to build and read test message bodies. */

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export function text(value: string): Uint8Array {
  return encoder.encode(value)
}

export function str(bytes: Uint8Array | undefined): string {
  return bytes ? decoder.decode(bytes) : '<missing frame>'
}

/** A body of `size` bytes (at least 8) carrying `sender` and `index` in its first 8 bytes. */
export function numbered(index: number, size = 8, sender = 0): Uint8Array {
  const body = new Uint8Array(Math.max(8, size))
  const view = new DataView(body.buffer)
  view.setUint32(0, sender)
  view.setUint32(4, index)
  return body
}

export function senderOf(body: Uint8Array | undefined): number {
  return body && body.byteLength >= 8 ? new DataView(body.buffer, body.byteOffset, 8).getUint32(0) : -1
}

export function indexOf(body: Uint8Array | undefined): number {
  return body && body.byteLength >= 8 ? new DataView(body.buffer, body.byteOffset, 8).getUint32(4) : -1
}

/** Bytes with every value 0..255, zeros included, repeated to `size`. */
export function pattern(size: number, seed = 0): Uint8Array {
  const bytes = new Uint8Array(size)
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed + (i >> 8)) & 0xff
  return bytes
}

export { sameBytes } from '../runtime/bytes.js'
