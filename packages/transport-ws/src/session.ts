/**
 * Sessions tie one peer's two WebSocket connections (its PUSH and its SUB) together, so a bound
 * PULL can say who sent a message and a gated PUB can deliver only what that peer was admitted
 * to. The session is a secret (128 random bits by default): it is never published, and holding
 * it is what makes a connection that peer's.
 */

/** The URL query parameter carrying the session. */
export const SESSION_PARAM = 'zs'

const PATTERN = /^[A-Za-z0-9_-]{16,128}$/

/** Whether `value` is a well-formed session. */
export function isSession(value: string): boolean {
  return PATTERN.test(value)
}

/** A fresh session: 128 random bits, base64url. Uses Web Crypto (browsers, Node ≥ 19). */
export function newSession(): string {
  const bytes = new Uint8Array(16)
  globalThis.crypto.getRandomValues(bytes)
  let text = ''
  for (const b of bytes) text += ALPHABET[b & 63]! + ALPHABET[b >> 6]!
  return text
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
