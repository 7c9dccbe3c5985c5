import { parse as parseUuid, stringify as stringifyUuid, v4 as uuidv4, validate as validateUuid } from 'uuid'

/** The UUID string of an endpoint. Branded so a document id cannot be passed by mistake. */
export type EndpointId = string & { readonly __brand: 'EndpointId' }
/** The application's id of a document. */
export type DocId = string & { readonly __brand: 'DocId' }

/** A fresh random endpoint id. */
export function newEndpointId(): EndpointId {
  return uuidv4() as EndpointId
}

export function isEndpointId(value: unknown): value is EndpointId {
  return typeof value === 'string' && validateUuid(value)
}

/** 16 bytes on the wire, as the Envelope carries it. */
export function endpointIdToBytes(id: EndpointId): Uint8Array {
  return parseUuid(id)
}

/** Throws on anything but 16 bytes; callers validating frames check the length first. */
export function endpointIdFromBytes(bytes: Uint8Array): EndpointId {
  return stringifyUuid(bytes) as EndpointId
}

/** Document ids are non-empty, at most 256 characters, and free of control characters. */
export function isValidDocId(value: unknown): value is DocId {
  // eslint-disable-next-line no-control-regex
  return typeof value === 'string' && value.length > 0 && value.length <= 256 && !/[\u0000-\u001f]/.test(value)
}
