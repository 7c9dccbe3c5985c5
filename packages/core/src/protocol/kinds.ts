/** Message kinds on the wire; numbers match `enum Kind` in proto/zinc.proto. */
export const Kind = {
  HELLO: 1,
  WELCOME: 2,
  REFUSE: 3,
  HEARTBEAT: 4,
  ROSTER: 5,
  LEAVE: 6,
  OPEN: 7,
  SNAPSHOT: 8,
  CLOSE: 9,
  FRAGMENT: 10,
  ACK: 11,
  REJECT: 12,
  CATCH_UP: 13,
  FRAGMENTS: 14,
  PRESENCE: 15,
  APP: 16,
  RESEND: 17,
  PRESENCES: 18,
  BRANCH: 19,
  ACCESS: 20,
} as const
export type Kind = (typeof Kind)[keyof typeof Kind]
export type KindName = keyof typeof Kind

const NAMES = new Map<number, KindName>(Object.entries(Kind).map(([name, n]) => [n, name as KindName]))

export function isKind(value: number): value is Kind {
  return NAMES.has(value)
}

/** The name of a kind (`FRAGMENT`), or `UNKNOWN(n)`. */
export function kindName(kind: number): string {
  return NAMES.get(kind) ?? `UNKNOWN(${kind})`
}

/**
 * The kind of an encoded Envelope without decoding it: `version` (field 1) and `kind` (field 2)
 * are the first varints protobufjs writes, so this reads a few bytes. 0 when it cannot tell.
 * Used to count sent messages by kind on paths that only hold bytes (forwarding, publishing).
 */
export function peekKind(bytes: Uint8Array): number {
  let i = 0
  for (let fields = 0; fields < 2 && i < bytes.length; fields++) {
    const tag = bytes[i++]!
    if ((tag & 7) !== 0) return 0
    let value = 0
    for (let shift = 0; i < bytes.length && shift < 35; shift += 7) {
      const b = bytes[i++]!
      value |= (b & 0x7f) << shift
      if (b < 0x80) break
    }
    if (tag >> 3 === 2) return value
  }
  return 0
}

/** Kinds that must name a document. */
export const DOC_KINDS: ReadonlySet<Kind> = new Set<Kind>([
  Kind.OPEN,
  Kind.SNAPSHOT,
  Kind.CLOSE,
  Kind.FRAGMENT,
  Kind.ACK,
  Kind.REJECT,
  Kind.CATCH_UP,
  Kind.FRAGMENTS,
  Kind.PRESENCE,
  Kind.RESEND,
  Kind.PRESENCES,
  Kind.BRANCH,
  Kind.ACCESS,
])

/** The protocol version this build speaks. */
export const PROTOCOL_VERSION = 1
