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
} as const
export type Kind = (typeof Kind)[keyof typeof Kind]
export type KindName = keyof typeof Kind

const NAMES = new Map<number, KindName>(Object.entries(Kind).map(([name, n]) => [n, name as KindName]))

export function isKind(value: number): value is Kind {
  return NAMES.has(value)
}

export function kindName(kind: number): string {
  return NAMES.get(kind) ?? `UNKNOWN(${kind})`
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
])

/** The protocol version this build speaks. */
export const PROTOCOL_VERSION = 1
