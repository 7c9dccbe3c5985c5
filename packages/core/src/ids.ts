import { parse as parseUuid, stringify as stringifyUuid, v4 as uuidv4, validate as validateUuid } from 'uuid'

/** The UUID string of an endpoint. Branded so a document id cannot be passed by mistake. */
export type EndpointId = string & { readonly __brand: 'EndpointId' }
/** The application's id of a document. */
export type DocId = string & { readonly __brand: 'DocId' }

/** A fresh random endpoint id. */
export function newEndpointId(): EndpointId {
  return uuidv4() as EndpointId
}

/** Whether a value is an endpoint id (a UUID string). */
export function isEndpointId(value: unknown): value is EndpointId {
  return typeof value === 'string' && validateUuid(value)
}

// Every message carries two ids, so both conversions are on the hot path: the uuid package
// validates with a regular expression each time (measured as a quarter of a subscriber's CPU
// with 256 peers). Ids to bytes are cached; bytes to ids go through a hex table and a check
// of the version and variant bits, which is what that expression enforces.
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))
const toBytesCache = new Map<string, Uint8Array>()
const CACHE_LIMIT = 10_000

/** 16 bytes on the wire, as the Envelope carries it. */
export function endpointIdToBytes(id: EndpointId): Uint8Array {
  let bytes = toBytesCache.get(id)
  if (!bytes) {
    bytes = parseUuid(id)
    if (toBytesCache.size >= CACHE_LIMIT) toBytesCache.clear()
    toBytesCache.set(id, bytes)
  }
  return bytes
}

/** Throws a TypeError on anything but a 16-byte RFC 4122 UUID (or the nil and max UUIDs). */
export function endpointIdFromBytes(bytes: Uint8Array): EndpointId {
  if (bytes.length !== 16) throw new TypeError('an endpoint id is 16 bytes')
  const version = bytes[6]! >> 4
  const variant = bytes[8]! >> 6
  if (version < 1 || version > 8 || variant !== 2) {
    // uuid accepts these two special values, so do we; anything else is not a UUID.
    if (!bytes.every((b) => b === 0) && !bytes.every((b) => b === 0xff)) throw new TypeError('not an RFC 4122 UUID')
    return stringifyUuid(bytes) as EndpointId
  }
  const h = HEX
  const b = bytes as unknown as number[]
  return (h[b[0]!]! +
    h[b[1]!]! +
    h[b[2]!]! +
    h[b[3]!]! +
    '-' +
    h[b[4]!]! +
    h[b[5]!]! +
    '-' +
    h[b[6]!]! +
    h[b[7]!]! +
    '-' +
    h[b[8]!]! +
    h[b[9]!]! +
    '-' +
    h[b[10]!]! +
    h[b[11]!]! +
    h[b[12]!]! +
    h[b[13]!]! +
    h[b[14]!]! +
    h[b[15]!]!) as EndpointId
}

/** Document ids are non-empty, at most 256 characters, and free of control characters. */
export function isValidDocId(value: unknown): value is DocId {
  // eslint-disable-next-line no-control-regex
  return typeof value === 'string' && value.length > 0 && value.length <= 256 && !/[\u0000-\u001f]/.test(value)
}

/**
 * A fresh connection secret (128 random bits, hex) that ties one parent link's PUSH and SUB
 * together at a parent that can tell connections apart. Never published.
 */
export function newSession(): string {
  const bytes = new Uint8Array(16)
  globalThis.crypto.getRandomValues(bytes)
  let text = ''
  for (const b of bytes) text += HEX[b]!
  return text
}
