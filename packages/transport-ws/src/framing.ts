/**
 * The wire format: one WebSocket binary message per Zinc message, its first byte a type.
 *
 * - `0` data. PUSH → PULL: `[0][body]`. PUB → SUB: `[0][topic length, u16 big-endian][topic][body]`.
 * - `1` subscribe, SUB → PUB: `[1][prefix, UTF-8]`.
 * - `2` unsubscribe, SUB → PUB: `[2][prefix, UTF-8]`.
 *
 * The role of a connection (push or sub) is its WebSocket subprotocol, so a PUB or PULL refuses
 * a client of the wrong pattern at the handshake instead of misreading its frames. Decoders
 * never throw: they return a reason, and the caller counts and drops the frame.
 */

export const FRAME_DATA = 0
export const FRAME_SUBSCRIBE = 1
export const FRAME_UNSUBSCRIBE = 2

/** Longest topic or subscription prefix, in UTF-8 bytes. Zinc's own topics stay under 300. */
export const MAX_TOPIC_BYTES = 1024

/** Most prefixes one SUB connection may hold: bounds what a hostile client can make a PUB keep. */
export const MAX_SUBSCRIPTIONS = 10_000

/** Bytes a frame may carry beyond its body: type, topic length and the longest topic. */
export const FRAME_OVERHEAD = 3 + MAX_TOPIC_BYTES

/** The WebSocket subprotocol of each connecting pattern. */
export const SUBPROTOCOL = { push: 'zinc-push.v1', sub: 'zinc-sub.v1' } as const

const encoder = new TextEncoder()
// fatal: a prefix with bad UTF-8 is a malformed frame, not a replacement character.
const strictDecoder = new TextDecoder('utf-8', { fatal: true })

/** UTF-8 bytes of a topic or prefix. */
export function topicBytes(topic: string): Uint8Array {
  return encoder.encode(topic)
}

/** `[0][body]`, for PUSH. */
export function encodeData(body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(1 + body.byteLength)
  frame[0] = FRAME_DATA
  frame.set(body, 1)
  return frame
}

/** `[0][u16 topic length][topic][body]`, for PUB. `topic` must fit `MAX_TOPIC_BYTES`. */
export function encodePublish(topic: Uint8Array, body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(3 + topic.byteLength + body.byteLength)
  frame[0] = FRAME_DATA
  frame[1] = topic.byteLength >> 8
  frame[2] = topic.byteLength & 0xff
  frame.set(topic, 3)
  frame.set(body, 3 + topic.byteLength)
  return frame
}

/** `[1|2][prefix]`, for SUB. */
export function encodeControl(subscribe: boolean, prefix: Uint8Array): Uint8Array {
  const frame = new Uint8Array(1 + prefix.byteLength)
  frame[0] = subscribe ? FRAME_SUBSCRIBE : FRAME_UNSUBSCRIBE
  frame.set(prefix, 1)
  return frame
}

/** A decoder's verdict on a frame it refuses. */
export interface Malformed {
  readonly bad: string
}

/** The body of a PUSH frame. */
export function decodeData(frame: Uint8Array): Uint8Array | Malformed {
  if (frame.byteLength < 1) return { bad: 'an empty frame' }
  if (frame[0] !== FRAME_DATA) return { bad: `frame type ${frame[0]} where data (0) was expected` }
  return view(frame, 1, frame.byteLength)
}

/** Topic and body of a PUB frame. */
export function decodePublish(frame: Uint8Array): { topic: Uint8Array; body: Uint8Array } | Malformed {
  if (frame.byteLength < 3) return { bad: `a publish frame of ${frame.byteLength} bytes (at least 3)` }
  if (frame[0] !== FRAME_DATA) return { bad: `frame type ${frame[0]} where data (0) was expected` }
  const length = (frame[1]! << 8) | frame[2]!
  if (length > MAX_TOPIC_BYTES) return { bad: `a topic of ${length} bytes (at most ${MAX_TOPIC_BYTES})` }
  if (3 + length > frame.byteLength) return { bad: `a topic of ${length} bytes in a frame of ${frame.byteLength}` }
  return { topic: view(frame, 3, 3 + length), body: view(frame, 3 + length, frame.byteLength) }
}

/** A subscribe or unsubscribe frame. */
export function decodeControl(frame: Uint8Array): { subscribe: boolean; prefix: string } | Malformed {
  const type = frame[0]
  if (type !== FRAME_SUBSCRIBE && type !== FRAME_UNSUBSCRIBE) {
    return { bad: frame.byteLength === 0 ? 'an empty frame' : `frame type ${type} where (un)subscribe (1, 2) was expected` }
  }
  if (frame.byteLength - 1 > MAX_TOPIC_BYTES) return { bad: `a prefix of ${frame.byteLength - 1} bytes (at most ${MAX_TOPIC_BYTES})` }
  try {
    return { subscribe: type === FRAME_SUBSCRIBE, prefix: strictDecoder.decode(view(frame, 1, frame.byteLength)) }
  } catch {
    return { bad: 'a prefix that is not valid UTF-8' }
  }
}

/** Whether a decoder refused the frame. */
export function isMalformed(value: object): value is Malformed {
  return 'bad' in value
}

/** Whether `topic` starts with the bytes of `prefix`. */
export function hasPrefix(topic: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.byteLength > topic.byteLength) return false
  for (let i = 0; i < prefix.byteLength; i++) if (topic[i] !== prefix[i]) return false
  return true
}

/**
 * The bytes of an inbound WebSocket message as a plain `Uint8Array` (no copy), or `undefined`
 * for a text message or anything else that is not binary.
 */
export function binaryOf(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  return undefined
}

// A plain Uint8Array over the same memory: a Node Buffer's subarray would stay a Buffer.
function view(frame: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(frame.buffer, frame.byteOffset + start, end - start)
}
