import protobuf from 'protobufjs'
import { BadFrameError } from '../errors.js'
import { endpointIdToBytes, isValidDocId, type DocId, type EndpointId } from '../ids.js'
import { DOC_KINDS, isKind, kindName, PROTOCOL_VERSION, type Kind } from './kinds.js'
import { zincSchema } from './schema.generated.js'
import { readEnvelope, type WireEnvelope } from './envelope-reader.js'
import { writeEnvelope, writeStamped } from './envelope-writer.js'

/**
 * protobufjs by reflection from a JSON descriptor: protobufjs generates the same specialised
 * encoder/decoder functions at load time that static code would contain (measured equal here,
 * see README), and the descriptor needs no build tool and no file access in a browser.
 */
export const schema = protobuf.Root.fromJSON(zincSchema as protobuf.INamespace)

/** One decoded and validated Envelope. */
export interface Message {
  readonly version: number
  readonly kind: Kind
  readonly origin: EndpointId
  readonly sender: EndpointId
  /** '' for endpoint-level kinds. */
  readonly doc: DocId | ''
  readonly clientSeq: number
  readonly seq: number
  readonly epoch: number
  readonly payload: Uint8Array
  readonly appKind: string
  /** For APP: 0 = bytes, 1 = UTF-8 text, 2 = JSON (how the publisher gave the payload). */
  readonly encoding: number
  /** For FRAGMENT: the seq of the state the change was made on (0 for the empty history). */
  readonly baseSeq: number
  /** The encoded bytes this message was decoded from, so relays forward without re-encoding. */
  readonly raw: Uint8Array
}

/** What `encodeMessage` takes: a `Message` whose optional fields may be left out. */
export type MessageInit = Omit<Message, 'version' | 'raw' | 'doc' | 'clientSeq' | 'seq' | 'payload' | 'appKind' | 'sender' | 'encoding' | 'baseSeq'> &
  Partial<Pick<Message, 'doc' | 'clientSeq' | 'seq' | 'payload' | 'appKind' | 'sender' | 'encoding' | 'baseSeq'>>

const EMPTY = new Uint8Array(0)

/** Encodes a message; `sender` defaults to `origin`. */
export function encodeMessage(init: MessageInit): Uint8Array {
  return writeEnvelope({
    version: PROTOCOL_VERSION,
    kind: init.kind,
    origin: endpointIdToBytes(init.origin),
    sender: endpointIdToBytes(init.sender ?? init.origin),
    doc: init.doc ?? '',
    clientSeq: init.clientSeq ?? 0,
    seq: init.seq ?? 0,
    epoch: init.epoch,
    payload: init.payload ?? EMPTY,
    appKind: init.appKind ?? '',
    encoding: init.encoding ?? 0,
    baseSeq: init.baseSeq ?? 0,
  })
}

/** Encodes and returns the message as a receiver would decode it. */
export function createMessage(init: MessageInit): Message {
  return decodeMessage(encodeMessage(init), Infinity)
}

/**
 * Decodes and validates one frame body. Throws `BadFrameError` saying why for anything that
 * is not a well-formed Envelope of this protocol version; never throws anything else.
 */
export function decodeMessage(bytes: Uint8Array, maxBytes: number): Message {
  if (!(bytes instanceof Uint8Array)) throw new BadFrameError('the frame is not binary')
  if (bytes.byteLength > maxBytes) throw new BadFrameError(`the frame is ${bytes.byteLength} bytes, over maxMessageBytes ${maxBytes}`)
  if (bytes.byteLength === 0) throw new BadFrameError('the frame is empty')
  let env: WireEnvelope
  try {
    env = readEnvelope(bytes)
  } catch (error) {
    if (error instanceof BadFrameError) throw error
    throw new BadFrameError(`not a protobuf Envelope (${(error as Error).message})`)
  }
  const version = env.version
  if (version !== PROTOCOL_VERSION) throw new BadFrameError(`protocol version ${version}, this endpoint speaks ${PROTOCOL_VERSION}`)
  const kind = env.kind
  if (!isKind(kind)) throw new BadFrameError(`unknown kind ${kind}`)
  const origin = uuid(env.origin, env.originBytes, 'origin')
  const sender = uuid(env.sender, env.senderBytes, 'sender')
  const doc = env.doc
  if (DOC_KINDS.has(kind)) {
    if (!isValidDocId(doc)) throw new BadFrameError(`${kindName(kind)} needs a valid document id, got ${JSON.stringify(doc.slice(0, 40))}`)
  } else if (doc !== '' && !isValidDocId(doc)) {
    throw new BadFrameError('invalid document id')
  }
  return {
    version,
    kind,
    origin,
    sender,
    doc: doc as DocId | '',
    clientSeq: env.clientSeq,
    seq: env.seq,
    epoch: env.epoch,
    payload: env.payload ?? EMPTY,
    appKind: env.appKind,
    encoding: env.encoding,
    baseSeq: env.baseSeq,
    raw: bytes,
  }
}

function uuid(id: EndpointId | undefined, length: number, field: string): EndpointId {
  if (length !== 16) throw new BadFrameError(`${field} must be a 16-byte UUID, got ${length} bytes`)
  if (id === undefined) throw new BadFrameError(`${field} is not a valid UUID`)
  return id
}

/**
 * The root's sequenced copy of a received FRAGMENT: the received bytes with `sender`, `seq`
 * and `epoch` appended. Protobuf keeps the last value of a repeated scalar field, so this
 * decodes exactly like a fresh encoding, at the cost of one copy instead of a re-encode.
 */
export function stampSequenced(raw: Uint8Array, sender: EndpointId, seq: number, epoch: number): Uint8Array {
  return writeStamped(raw, endpointIdToBytes(sender), seq, epoch)
}
